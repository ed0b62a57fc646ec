"""Provision, configure, start and stop the Samba AD DC of the test AD.

Everything Samba writes (databases, sockets, pid files, logs, TLS keys) stays
inside the state directory, so several checkouts never share files. Only one
test AD can listen on 127.0.0.2 at a time, though.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from testad import directory

LOGGER_PREFIX = "test-ad:"
STOP_TIMEOUT_SECONDS = 30
# The [global] options that the state directory's smb.conf must contain.
# Provision drops "ldap server require strong auth" (Samba 4.17), so the
# options are written again after provisioning and before every start.
_SERVICE_OPTIONS = {
    "interfaces": directory.ADDRESS,
    "bind interfaces only": "yes",
    "disable netbios": "yes",
    # Without this Samba also runs its DNS server and NetBIOS services, which
    # send traffic off the machine.
    "server services": "-dns -dnsupdate -nbt -wrepl",
    "ldap server require strong auth": "no",
    "tls enabled": "yes",
    "log level": "1",
}


class SambaError(RuntimeError):
    """Samba could not be provisioned, started or stopped."""


@dataclass(frozen=True)
class StateDir:
    """The files of one test AD below its state directory."""

    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    @property
    def sam_ldb(self) -> Path:
        return self.root / "private" / "sam.ldb"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "samba-stdout.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "samba.pid"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def facts_file(self) -> Path:
        return self.root / "ad.json"

    @property
    def provisioned_marker(self) -> Path:
        return self.root / "provisioned"

    @property
    def seeded_marker(self) -> Path:
        return self.root / "seeded"

    @property
    def bulk_count_file(self) -> Path:
        return self.root / "bulk-count"

    @property
    def lock_file(self) -> Path:
        # Next to the state directory, so `destroy` can remove the directory
        # while it holds the lock.
        return self.root.parent / f".{self.root.name}.lock"

    @property
    def bulk_lock_file(self) -> Path:
        return self.root.parent / f".{self.root.name}.bulk.lock"

    def is_provisioned(self) -> bool:
        """Return whether provisioning and the password policy both finished."""
        return self.provisioned_marker.is_file() and self.sam_ldb.is_file()


def log(message: str) -> None:
    """Print a progress message to stderr; stdout carries only results."""
    print(f"{LOGGER_PREFIX} {message}", file=sys.stderr, flush=True)


def run_command(args: list[str], what: str) -> str:
    """Run a command; raise SambaError with its output when it fails."""
    result = subprocess.run(
        args, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise SambaError(f"{what} failed (exit {result.returncode}): {output[-2000:]}")
    return result.stdout


def ensure_loopback_address() -> None:
    """Add 127.0.0.2/32 to lo; Samba binds only to addresses on an interface."""
    shown = run_command(["ip", "-o", "-4", "addr", "show", "dev", "lo"], "ip addr show")
    if f" {directory.ADDRESS}/" in shown:
        return
    log(f"adding {directory.ADDRESS}/32 to lo")
    run_command(
        ["ip", "addr", "add", f"{directory.ADDRESS}/32", "dev", "lo"],
        f"ip addr add {directory.ADDRESS}/32 dev lo (needs root)",
    )


def provision(state: StateDir) -> None:
    """Provision the CORP.EXAMPLE.TEST domain into an empty state directory."""
    if state.root.exists():
        # A provision that stopped half-way leaves files that make the next
        # one fail; the directory has no other content before provisioning.
        shutil.rmtree(state.root)
    state.root.mkdir(parents=True)
    empty_conf = state.root / "empty-smb.conf"
    empty_conf.write_text("")

    options = [f"--option={name}={value}" for name, value in _SERVICE_OPTIONS.items()
               if not name.startswith("tls")]
    log(f"provisioning {directory.REALM} in {state.root}")
    run_command(
        [
            "samba-tool", "domain", "provision",
            "-s", str(empty_conf),
            f"--targetdir={state.root}",
            f"--realm={directory.REALM}",
            f"--domain={directory.NETBIOS_DOMAIN}",
            f"--host-name={directory.DC_HOST_NAME}",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--host-ip={directory.ADDRESS}",
            f"--adminpass={directory.ADMIN_PASSWORD}",
            *options,
        ],
        "samba-tool domain provision",
    )
    empty_conf.unlink()


def set_password_policy(state: StateDir) -> None:
    """Set the domain password and lockout policy, and the PSO for `locked`.

    Runs on the local database, so Samba need not be running.
    """
    conf = ["-s", str(state.conf)]
    run_command(
        [
            "samba-tool", "domain", "passwordsettings", "set", *conf,
            "--min-pwd-age=0",
            "--max-pwd-age=0",
            "--history-length=0",
            f"--account-lockout-threshold={directory.LOCKOUT_THRESHOLD}",
            f"--account-lockout-duration={directory.LOCKOUT_DURATION_MINUTES}",
            f"--reset-account-lockout-after={directory.LOCKOUT_OBSERVATION_MINUTES}",
        ],
        "samba-tool domain passwordsettings set",
    )
    run_command(
        [
            "samba-tool", "domain", "passwordsettings", "pso", "create", *conf,
            directory.LOCKED_USER_PSO, "1",
            f"--account-lockout-threshold={directory.LOCKOUT_THRESHOLD}",
            f"--account-lockout-duration={directory.LOCKED_USER_DURATION_MINUTES}",
            f"--reset-account-lockout-after={directory.LOCKED_USER_DURATION_MINUTES}",
        ],
        "samba-tool domain passwordsettings pso create",
    )


def ensure_tls_files(state: StateDir) -> None:
    """Create the test CA and a server certificate for 127.0.0.2 if missing.

    Samba's own self-signed certificate has no IP subject alternative name,
    so clients that verify the certificate against ldaps://127.0.0.2 fail
    with it. A certificate that expires within a day is replaced.
    """
    tls = state.tls_dir
    tls.mkdir(mode=0o700, exist_ok=True)
    if not (tls / "ca.key").is_file() or not state.ca_file.is_file():
        log("creating the test CA")
        run_command(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-keyout", str(tls / "ca.key"), "-out", str(state.ca_file),
                "-days", "3650", "-subj", "/CN=FactorGate Test AD CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-addext", "subjectKeyIdentifier=hash",
            ],
            "openssl req (test CA)",
        )
        (tls / "server.pem").unlink(missing_ok=True)
    if (tls / "server.pem").is_file() and _certificate_is_current(tls / "server.pem"):
        return
    _create_server_certificate(tls, state.ca_file)


def _certificate_is_current(path: Path) -> bool:
    result = subprocess.run(
        ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(path)],
        capture_output=True, stdin=subprocess.DEVNULL, check=False,
    )
    return result.returncode == 0


def _create_server_certificate(tls: Path, ca_file: Path) -> None:
    host = f"{directory.DC_HOST_NAME.lower()}.{directory.DNS_DOMAIN}"
    log(f"creating the server certificate for {directory.ADDRESS} and {host}")
    extensions = tls / "server.ext"
    extensions.write_text(
        f"subjectAltName=IP:{directory.ADDRESS},DNS:{host},DNS:{directory.DNS_DOMAIN}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    request = tls / "server.csr"
    run_command(
        [
            "openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(tls / "server.key"), "-out", str(request),
            "-subj", f"/CN={host}",
        ],
        "openssl req (server key)",
    )
    run_command(
        [
            "openssl", "x509", "-req", "-in", str(request),
            "-CA", str(ca_file), "-CAkey", str(tls / "ca.key"), "-CAcreateserial",
            "-days", "825", "-extfile", str(extensions), "-out", str(tls / "server.pem"),
        ],
        "openssl x509 (sign the server certificate)",
    )
    # Samba refuses a TLS key that other users can read.
    os.chmod(tls / "server.key", 0o600)
    os.chmod(tls / "ca.key", 0o600)
    request.unlink()


def configure(state: StateDir) -> None:
    """Write the service, path and TLS options into smb.conf's [global]."""
    for path in (state.run_dir, state.log_dir):
        path.mkdir(exist_ok=True)
    options = dict(_SERVICE_OPTIONS)
    options.update({
        "pid directory": str(state.run_dir),
        "ncalrpc dir": str(state.run_dir / "ncalrpc"),
        "winbindd socket directory": str(state.run_dir / "winbindd"),
        "ntp signd socket directory": str(state.run_dir / "ntp_signd"),
        "usershare path": str(state.root / "state" / "usershares"),
        "log file": str(state.log_dir / "samba.log"),
        "tls keyfile": str(state.tls_dir / "server.key"),
        "tls certfile": str(state.tls_dir / "server.pem"),
        "tls cafile": str(state.ca_file),
    })
    text = state.conf.read_text()
    updated = set_global_options(text, options)
    if updated != text:
        state.conf.write_text(updated)


def set_global_options(text: str, options: dict[str, str]) -> str:
    """Return smb.conf text with `options` set in [global], replacing old values."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "[global]")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")),
        len(lines),
    )
    wanted = {name.lower(): value for name, value in options.items()}
    kept = [
        line for line in lines[start + 1:end]
        if line.split("=", 1)[0].strip().lower() not in wanted
    ]
    while kept and not kept[-1].strip():
        kept.pop()
    added = [f"\t{name} = {value}" for name, value in sorted(wanted.items())]
    return "\n".join([*lines[:start + 1], *kept, *added, "", *lines[end:]]).rstrip() + "\n"


def read_pid(state: StateDir) -> int | None:
    """Return the recorded pid if that process is still this state's Samba.

    The pid file stores the pid and the process start time, so a reused pid
    does not count. Samba rewrites its command line ("samba: root process"),
    so the command line cannot identify it.
    """
    try:
        pid_text, start_text = state.pid_file.read_text().split()
        pid, start_time = int(pid_text), int(start_text)
    except (FileNotFoundError, ValueError):
        return None
    return pid if _process_start_time(pid) == start_time else None


def _process_start_time(pid: int) -> int | None:
    """Return field 22 of /proc/PID/stat, or None for a missing or exited process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The text after the bracketed command name starts with field 3, the
    # process state. State "Z" is an exited process that is not reaped yet.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def port_in_use(port: int = 389) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((directory.ADDRESS, port)) == 0


def start(state: StateDir) -> int:
    """Start Samba in its own session and record its pid.

    stdin is /dev/null on purpose. In interactive mode (-i) Samba 4.17 exits
    when a piped stdin reaches end of file ("EOF on stdin - PID ...
    terminating"), so a pipe from the caller would end it with the caller.
    """
    if port_in_use():
        raise SambaError(
            f"another process listens on {directory.ADDRESS}:389; stop the test AD "
            "of the other checkout (scripts/test-ad down there) and retry"
        )
    with open(state.log_file, "ab") as log_stream:
        process = subprocess.Popen(
            ["samba", "-s", str(state.conf), "-i", "-M", "single"],
            stdin=subprocess.DEVNULL,
            stdout=log_stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    state.pid_file.write_text(f"{process.pid} {_process_start_time(process.pid)}\n")
    log(f"started samba (pid {process.pid}), log in {state.log_file}")
    return process.pid


def wait_until(check, timeout: float, what: str, pid_check=None) -> float:
    """Poll `check` every 0.1 s; return the seconds it took, or raise on timeout."""
    started = time.monotonic()
    while not check():
        if pid_check is not None and not pid_check():
            raise SambaError(f"{what}: samba exited; see its log")
        if time.monotonic() - started > timeout:
            raise SambaError(f"{what}: timed out after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def stop(state: StateDir) -> bool:
    """Send SIGTERM to the recorded Samba and wait for it to exit.

    Returns False when no Samba of this state directory was running.
    """
    pid = read_pid(state)
    if pid is None:
        state.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: _process_start_time(pid) is None, STOP_TIMEOUT_SECONDS,
                   f"stopping samba (pid {pid})")
    except SambaError:
        log(f"samba (pid {pid}) did not exit after SIGTERM; sending SIGKILL")
        os.killpg(pid, signal.SIGKILL)
    state.pid_file.unlink(missing_ok=True)
    return True
