"""Run a real `factorgate serve` process against the test AD, for integration tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from support.tls import make_server_certificate

FACTORGATE = [sys.executable, "-m", "factorgate"]


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def free_udp_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_for_radius(address: str, port: int, secret: bytes, timeout: float = 15.0,
                    process: subprocess.Popen | None = None) -> None:
    """Wait until a Status-Server to address:port gets a verified answer."""
    from factorgate.radius.packet import STATUS_SERVER, build_request, verify_reply

    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"factorgate exited with {process.returncode} before answering RADIUS")
            request = build_request(STATUS_SERVER, 1, [], secret)
            sock.sendto(request, (address, port))
            try:
                reply = sock.recv(4096)
            except OSError:
                continue
            verify_reply(reply, request[4:20], secret)
            return
    raise TimeoutError(f"no RADIUS answer from {address}:{port} after {timeout} s")


def wait_for_port(address: str, port: int, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"factorgate exited with {process.returncode} before listening")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {address}:{port} after {timeout} s")


def run_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(FACTORGATE + list(args), input=input, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"factorgate {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


class Node:
    """One FactorGate node in a temporary directory, with its own store and certificate."""

    def __init__(self, root: Path, ad: dict, address: str = "127.0.0.1", radius: dict | None = None,
                 **ldap_overrides) -> None:
        """Write the node's files.

        Args:
            radius: the `radius:` section without `listen`, or None for no
                RADIUS listener. One listener on `address` and a free UDP
                port (`radius_port`) is added.
            ldap_overrides: keys of the `ldap:` section to replace.
        """
        self.root = root
        self.ad = ad
        self.address = address
        self.ldap_port = free_port(address)
        self.ldaps_port = free_port(address)
        self.radius = radius
        self.radius_port = free_udp_port(address) if radius is not None else 0
        root.mkdir(parents=True, exist_ok=True)
        self.ca_file, cert, key = make_server_certificate(root, address)
        self.config_path = root / "factorgate.yml"
        self.log_path = root / "factorgate.log"
        self.process: subprocess.Popen | None = None
        self._write_files(cert, key, ldap_overrides)

    def _write_files(self, cert: Path, key: Path, ldap_overrides: dict) -> None:
        password_file = self.root / "ad-bind.password"
        password_file.write_text(self.ad["lookup_password"])
        password_file.chmod(0o600)
        (self.root / "state").mkdir(exist_ok=True)
        run_cli("keygen", str(self.root / "secret.key"))

        ldap = {
            "listen": [
                {"address": self.address, "port": self.ldap_port, "tls": "none"},
                {"address": self.address, "port": self.ldaps_port, "tls": "ldaps"},
            ],
            "certificate": str(cert),
            "private_key": str(key),
            "require_tls": True,
            "cleartext_clients": ["127.0.0.0/8"],
            "drain_timeout": 5,
        }
        ldap.update(ldap_overrides)
        config = {
            "node": {"name": self.root.name},
            "paths": {"state_dir": str(self.root / "state"), "key_file": str(self.root / "secret.key")},
            "logging": {"level": "debug"},
            "ldap": ldap,
            "directory": {
                "servers": [self.ad["ldaps_url"]],
                "ca_file": self.ad["ca_file"],
                "base_dn": self.ad["base_dn"],
                "netbios_domain": self.ad["netbios_domain"],
                "upn_suffixes": [self.ad["dns_domain"]],
                "bind_dn": self.ad["lookup_dn"],
                "bind_password_file": str(password_file),
            },
            "mfa": {"exempt": {"dns": [self.ad["users"]["svc-netscaler"]["dn"]] if "svc-netscaler" in self.ad["users"] else []}},
            "import": {"base_dn": self.ad["base_dn"]},
        }
        if self.radius is not None:
            config["radius"] = {"listen": [{"address": self.address, "port": self.radius_port}], **self.radius}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return run_cli("-c", str(self.config_path), *args, input=input)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            FACTORGATE + ["-c", str(self.config_path), "serve"], stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.address, self.ldap_port, process=self.process)
        wait_for_port(self.address, self.ldaps_port, process=self.process)
        if self.radius is not None and self.radius.get("clients"):
            wait_for_radius(self.address, self.radius_port, self.radius_secret(), process=self.process)

    def radius_secret(self, client: int = 0) -> bytes:
        """The shared secret of `radius.clients[client]`, read from its file or inline."""
        entry = self.radius["clients"][client]
        if "secret_file" in entry:
            return Path(entry["secret_file"]).read_bytes().rstrip(b"\n")
        return entry["secret"].encode("utf-8")

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    @property
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def url(self) -> str:
        return f"ldap://{self.address}:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.address}:{self.ldaps_port}"
