"""Measure 10,000 RADIUS logins waiting on a phone call at once: memory, and an exempt login's latency meanwhile.

The server runs in its own process (pinned to CPU 0): the real RADIUS
handler, pipeline, `SecondFactors`, SQLite store and simulator provider, with
the AD bind stubbed out (every password is right), because the test AD cannot
take 10,000 binds in the few seconds the scenario needs. Every waiting user is
a distinct imported user on `voice`, whose simulated phone answers '#' after
`--answer-after` seconds. An exempt user (matched by DN) logs in with the
password alone.

Steps: start the server and record its RSS; time `--probes` exempt logins one
after another (baseline); send the waiting logins from 40 sockets; once the
server reports them all pending, record its RSS and time the exempt logins
again; then collect the waiting logins' Access-Accepts.

    python server/bench/bench_waiting.py [--waiting 10000] [--probes 2000] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import platform
import secrets
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY / "server" / "src"))

SECRET = b"bench-waiting-secret-of-32-octets"
ADDRESS = "127.0.0.1"
BASE_DN = "OU=Bench,DC=corp,DC=example,DC=test"
EXEMPT_DN = f"CN=svc-exempt,{BASE_DN}"
PASSWORD = "Bench-Password-1!"
PER_SOCKET = 250   # below the 256 identifiers a RADIUS client has per source port


def user_login(index: int) -> str:
    return f"wait{index:06d}@corp.example.test"


# --- the server (its own process) ---------------------------------------------------


def run_server(args: argparse.Namespace) -> None:
    from factorgate.auth.model import PrimaryResult
    from factorgate.auth.pipeline import Pipeline, PipelinePolicy
    from factorgate.auth.second_factor import FactorPolicy, SecondFactors
    from factorgate.config import RadiusClientConfig
    from factorgate.directory.resolver import ExemptRules, Resolver
    from factorgate.factors.fraud import AlertMailSettings, FraudAlerter
    from factorgate.factors.hotp_verifier import HotpVerifier
    from factorgate.factors.outofband import MethodSettings, OutOfBand
    from factorgate.factors.providers.simulator import SimulatorProvider, SimulatorSettings
    from factorgate.factors.secretbox import SecretBox
    from factorgate.factors.totp_verifier import TotpVerifier
    from factorgate.radius.clients import ClientTable, RadiusClient
    from factorgate.radius.handler import HandlerSettings, RadiusHandler
    from factorgate.radius.server import RadiusServer, bind_radius_socket
    from factorgate.store.base import EnrollmentStatus, UserRecord
    from factorgate.store.sqlite import SqliteStore

    os.sched_setaffinity(0, {0})
    root = Path(tempfile.mkdtemp(prefix="fg-bench-waiting-"))
    logging.basicConfig(level=logging.WARNING, filename=root / "factorgate.log",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    SecretBox.generate_key_file(root / "secret.key")
    store = SqliteStore(root / "factorgate.db", SecretBox.from_key_file(root / "secret.key"))
    guids = []
    for index in range(args.waiting):
        guid = str(uuid.UUID(int=index + 1))
        store.upsert_user(UserRecord(guid, f"CN=Wait {index},{BASE_DN}", f"wait{index:06d}", user_login(index),
                                     "CORP", f"+1555{index:07d}", EnrollmentStatus.PENDING))
        guids.append(guid)
    store.set_import_methods(guids, "voice", time.time())
    store.upsert_user(UserRecord(str(uuid.UUID(int=10**9)), EXEMPT_DN, "svc-exempt", "svc-exempt@corp.example.test",
                                 "CORP", "", EnrollmentStatus.NOT_ENROLLED))

    simulator = SimulatorProvider(SimulatorSettings(default_answer=f"slow:{args.answer_after}:#"))
    methods = {"voice": MethodSettings("simulator", args.answer_after + 60)}
    factors = SecondFactors(store, TotpVerifier(store), HotpVerifier(store), OutOfBand({"voice": simulator}, methods),
                            FraudAlerter(store, AlertMailSettings(), "bench", 86400, time.time),
                            FactorPolicy(default_method="voice", prompt_limit=5))
    resolver = Resolver(store, None, ExemptRules.build([EXEMPT_DN], [], []), netbios_domain="CORP",
                        upn_suffixes=("corp.example.test",))
    pipeline = Pipeline(resolver, store, TotpVerifier(store), PipelinePolicy(), factors)
    client = RadiusClient.from_config(RadiusClientConfig(
        name="bench", network=ipaddress.ip_network("127.0.0.0/8"), secret=SECRET, otp_mode="append"))
    accepted = PrimaryResult(ok=True)

    def primary_for(login: bytes):
        async def check(password: bytes) -> PrimaryResult:
            return accepted
        return check

    handler = RadiusHandler(ClientTable([client]), pipeline, primary_for, None,
                            HandlerSettings(retransmit_cache_entries=65536, retransmit_cache_ttl=args.answer_after + 120))
    sock = bind_radius_socket(ADDRESS, args.port)

    async def serve() -> None:
        server = RadiusServer(handler)
        await server.start([sock])
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        stats = Path(args.stats)
        print("ready", flush=True)
        while not stop.is_set():
            stats.write_text(json.dumps({"in_progress": handler.in_progress, "calls": simulator.started}))
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                pass
        await server.drain(1)

    asyncio.run(serve())
    store.close()


# --- the client (this process) -----------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def probe_exempt(port: int, count: int) -> list[float]:
    """Time `count` exempt logins one after another; return their latencies in ms."""
    from factorgate.radius.packet import access_request, verify_reply

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ADDRESS, 0))
    sock.settimeout(2)
    latencies = []
    for number in range(count):
        authenticator = secrets.token_bytes(16)
        packet = access_request("svc-exempt@corp.example.test", PASSWORD, SECRET, identifier=number % 256,
                                authenticator=authenticator)
        started = time.perf_counter()
        sock.sendto(packet, (ADDRESS, port))
        reply = sock.recv(4096)
        latencies.append((time.perf_counter() - started) * 1000)
        if reply[0] != 2:
            raise RuntimeError(f"exempt login not accepted (code {reply[0]})")
        if number == 0:
            verify_reply(reply, authenticator, SECRET)
    sock.close()
    return latencies


def send_waiting(port: int, count: int) -> tuple[selectors.DefaultSelector, list[socket.socket]]:
    from factorgate.radius.packet import access_request

    selector = selectors.DefaultSelector()
    sockets = []
    for start in range(0, count, PER_SOCKET):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((ADDRESS, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        sockets.append(sock)
        for number, index in enumerate(range(start, min(start + PER_SOCKET, count))):
            packet = access_request(user_login(index), PASSWORD, SECRET, identifier=number,
                                    authenticator=secrets.token_bytes(16))
            sock.sendto(packet, (ADDRESS, port))
        time.sleep(0.002)   # let the server drain its receive buffer between sockets
    return selector, sockets


def collect(selector: selectors.DefaultSelector, expected: int, timeout: float) -> dict[int, int]:
    codes: dict[int, int] = {}
    received = 0
    deadline = time.monotonic() + timeout
    while received < expected and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            while True:
                try:
                    reply = key.fileobj.recv(4096)
                except BlockingIOError:
                    break
                codes[reply[0]] = codes.get(reply[0], 0) + 1
                received += 1
    return codes


def wait_for_stats(path: Path, key: str, value: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    stats: dict = {}
    while time.monotonic() < deadline:
        try:
            stats = json.loads(path.read_text())
        except (OSError, ValueError):
            stats = {}
        if stats.get(key, 0) >= value:
            return stats
        time.sleep(0.1)
    raise TimeoutError(f"server reached only {stats} (wanted {key} >= {value})")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(latencies: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(latencies), 3), "p99_ms": round(percentile(latencies, 0.99), 3),
            "max_ms": round(max(latencies), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10000, help="logins waiting on a call at once")
    parser.add_argument("--probes", type=int, default=2000, help="exempt logins timed in each phase")
    parser.add_argument("--answer-after", type=float, default=40.0, help="seconds before each simulated phone answers")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stats", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server:
        run_server(args)
        return

    os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)) or {0})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((ADDRESS, 0))
        port = probe.getsockname()[1]
    stats = Path(tempfile.mkdtemp(prefix="fg-bench-stats-")) / "stats.json"
    server = subprocess.Popen([sys.executable, __file__, "--server", "--port", str(port), "--stats", str(stats),
                               "--waiting", str(args.waiting), "--answer-after", str(args.answer_after)],
                              stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("server did not start")
        probe_exempt(port, 200)   # warm-up
        rss_idle = rss_mib(server.pid)
        baseline = probe_exempt(port, args.probes)

        sent_at = time.monotonic()
        selector, sockets = send_waiting(port, args.waiting)
        waiting = wait_for_stats(stats, "calls", args.waiting, timeout=args.answer_after - 5)
        all_waiting_after = time.monotonic() - sent_at
        rss_waiting = rss_mib(server.pid)
        during = probe_exempt(port, args.probes)
        in_progress = json.loads(stats.read_text())["in_progress"]

        codes = collect(selector, args.waiting, timeout=args.answer_after + 60)
        for sock in sockets:
            sock.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "waiting_logins": args.waiting,
        "calls_placed": waiting["calls"],
        "in_progress_while_probing": in_progress,
        "seconds_until_all_waiting": round(all_waiting_after, 2),
        "rss_idle_mib": round(rss_idle, 1),
        "rss_waiting_mib": round(rss_waiting, 1),
        "rss_for_waiting_mib": round(rss_waiting - rss_idle, 1),
        "per_waiting_login_kib": round((rss_waiting - rss_idle) * 1024 / args.waiting, 2),
        "exempt_baseline": summarize(baseline),
        "exempt_while_waiting": summarize(during),
        "replies": {{2: "accept", 3: "reject", 11: "challenge"}.get(code, str(code)): count for code, count in codes.items()},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
