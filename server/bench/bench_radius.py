"""Measure Access-Requests per second and latency of FactorGate's RADIUS front end.

Three scenarios, each with the server in its own process pinned to one CPU
(core 0) and the load generator in separate processes pinned to the others:

- `stub`: a not-enrolled user, AD bind stubbed out. Measures the UDP front
  end, the crypto (Message-Authenticator, PAP, reply signing), the
  retransmission cache, the pipeline with its SQLite look-up and the auth log.
- `totp`: an enrolled user in `append` mode with a TOTP code, AD stubbed,
  real clock and the replay check on. Every request uses another user, so
  no code is sent twice within a step.
- `ad`: not-enrolled bench users of the test AD, each password checked by a
  real bind on the pooled connections (`AdBindChecker`). Needs
  `scripts/test-ad up` and its bench users; skipped when ad.json is missing.

The load generator sends distinct requests (fresh Identifier and Request
Authenticator, many users and source ports), so no reply comes from the
retransmission cache. Requests are built before the timed window, and every
50th reply is verified as a NAS would.

    python server/bench/bench_radius.py [--duration 8] [--scenarios stub,totp,ad] [--json FILE]
    python server/bench/bench_radius.py --profile /tmp/radius.prof --scenarios stub
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import multiprocessing
import os
import platform
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_FACTS = REPOSITORY / ".demo" / "ad" / "ad.json"
SECRET = b"bench-radius-secret-of-32-octets"
SERVER_ADDRESS = "127.0.0.1"
SERVER_CPU = 0
PASSWORD = b"Bench-Password-1!"
BASE_DN = "OU=Bench,DC=corp,DC=example,DC=test"
REQUEST_TIMEOUT = 3.0    # seconds before an outstanding request counts as lost
VERIFY_EVERY = 50        # verify one reply in this many


# --- the server side (runs in its own process) ------------------------------------


def seed_of(index: int) -> bytes:
    return hmac.digest(b"bench-radius-seeds", index.to_bytes(4, "big"), "sha1")


def bench_login(index: int) -> str:
    return f"user{index:06d}@corp.example.test"


def run_server(args: argparse.Namespace) -> None:
    """Serve one scenario on args.port until SIGTERM; print `ready` when listening."""
    os.sched_setaffinity(0, {SERVER_CPU})
    sys.path.insert(0, str(REPOSITORY / "server" / "src"))
    from factorgate.auth.model import PrimaryResult
    from factorgate.auth.pipeline import Pipeline, PipelinePolicy
    from factorgate.config import RadiusClientConfig
    from factorgate.directory.resolver import ExemptRules, Resolver
    from factorgate.factors.secretbox import SecretBox
    from factorgate.factors.totp_verifier import TotpVerifier
    from factorgate.radius.clients import ClientTable, RadiusClient
    from factorgate.radius.handler import HandlerSettings, RadiusHandler
    from factorgate.radius.server import RadiusServer, bind_radius_socket
    from factorgate.store.base import EnrollmentStatus, TotpToken, UserRecord
    from factorgate.store.sqlite import SqliteStore
    import ipaddress

    root = Path(tempfile.mkdtemp(prefix="fg-bench-radius-"))
    logging.basicConfig(level=logging.INFO, filename=root / "factorgate.log",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    SecretBox.generate_key_file(root / "secret.key")
    store = SqliteStore(root / "factorgate.db", SecretBox.from_key_file(root / "secret.key"))
    enrolled = args.scenario == "totp"
    if args.scenario in ("stub", "totp"):
        status = EnrollmentStatus.ENROLLED if enrolled else EnrollmentStatus.NOT_ENROLLED
        for index in range(args.users):
            guid = str(uuid.UUID(int=index + 1))
            store.upsert_user(UserRecord(guid, f"CN=User {index},{BASE_DN}", f"user{index:06d}",
                                         bench_login(index), "CORP", "", status))
            if enrolled:
                store.set_totp(TotpToken(guid, seed_of(index)))

    resolver = Resolver(store, None, ExemptRules(), netbios_domain="CORP", upn_suffixes=("corp.example.test",))
    pipeline = Pipeline(resolver, store, TotpVerifier(store, window=1), PipelinePolicy())
    client = RadiusClient.from_config(RadiusClientConfig(
        name="bench", network=ipaddress.ip_network("127.0.0.0/8"), secret=SECRET,
        otp_mode="append" if enrolled else "challenge"))

    checker = None
    if args.scenario == "ad":
        checker = build_bind_checker(json.loads(Path(args.facts).read_text()), args.bind_pool)

        def primary_for(login: bytes):
            return lambda password: checker.check(login, password)
    else:
        accepted = PrimaryResult(ok=True)

        def primary_for(login: bytes):
            async def check(password: bytes) -> PrimaryResult:
                return accepted
            return check

    handler = RadiusHandler(ClientTable([client]), pipeline, primary_for, None,
                            HandlerSettings(retransmit_cache_entries=65536))
    sock = bind_radius_socket(SERVER_ADDRESS, args.port)

    async def serve() -> None:
        server = RadiusServer(handler)
        await server.start([sock])
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await server.drain(1)
        if checker is not None:
            await checker.close()

    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    asyncio.run(serve())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    store.close()


def build_bind_checker(facts: dict, pool_size: int):
    import ssl
    from factorgate.directory.bindcheck import AdBindChecker
    from factorgate.ldap.upstream import DomainController, UpstreamSettings

    context = ssl.create_default_context(cafile=facts["ca_file"])
    settings = UpstreamSettings(
        controllers=(DomainController.parse(facts["ldaps_url"]),), start_tls=False, tls_context=context,
        connect_timeout=5, max_message_size=1 << 20,
    )
    return AdBindChecker(settings, pool_size=pool_size)


# --- the load generator (separate processes) ------------------------------------------


@dataclass
class WorkerResult:
    window_start: float = 0.0   # time.monotonic(), which is one clock for all processes on Linux
    window_end: float = 0.0
    replies: int = 0
    accepts: int = 0
    lost: int = 0
    bad_replies: int = 0
    exhausted: bool = False
    latencies: list[float] = field(default_factory=list)


def plan_logins(scenario: str, worker: int, workers: int, count: int, users: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Choose the (login, password) of each of this worker's `count` requests; TOTP codes are appended."""
    from factorgate.factors.otp import totp

    requests = []
    now = time.time()
    for number in range(count):
        index = (number * workers + worker) % len(users)
        login, password = users[index]
        if scenario == "totp":
            password = password + totp(seed_of(index), now, 6, "SHA1", 30).encode()
        requests.append((login, password))
    return requests


def run_worker(args: dict, worker: int, queue: multiprocessing.Queue, barrier) -> None:
    os.sched_setaffinity(0, set(args["generator_cpus"]))
    sys.path.insert(0, str(REPOSITORY / "server" / "src"))
    from factorgate.radius.packet import access_request, verify_reply

    sockets_count, window = args["sockets"], args["window"]
    per_socket = args["per_socket"]
    logins = plan_logins(args["scenario"], worker, args["workers"], per_socket * sockets_count, args["users"])
    # Identifier and authenticator are covered by Message-Authenticator, so each
    # request is signed for the socket and identifier it will use.
    plans = []
    for slot in range(sockets_count):
        packets = []
        for number in range(per_socket):
            login, password = logins[slot * per_socket + number]
            packets.append(access_request(login, password, SECRET, identifier=number % 256,
                                          authenticator=secrets.token_bytes(16)))
        plans.append(packets)

    selector = selectors.DefaultSelector()
    sockets = []
    for slot in range(sockets_count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((args["source"], 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, slot)
        sockets.append(sock)
    next_index = [0] * sockets_count
    outstanding: list[dict[int, tuple[float, bytes]]] = [{} for _ in range(sockets_count)]
    result = WorkerResult()
    target = (SERVER_ADDRESS, args["port"])

    def send_next(slot: int) -> None:
        index = next_index[slot]
        if index >= per_socket:
            result.exhausted = True
            return
        packet = plans[slot][index]
        next_index[slot] = index + 1
        identifier = packet[1]
        if identifier in outstanding[slot]:
            result.lost += 1
        outstanding[slot][identifier] = (time.monotonic(), packet)
        sockets[slot].sendto(packet, target)

    barrier.wait()   # every worker has built its requests
    measure_from = time.monotonic() + args["warmup"]
    end = measure_from + args["duration"]
    result.window_start, result.window_end = measure_from, end
    for slot in range(sockets_count):
        for _ in range(window):
            send_next(slot)

    last_sweep = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for key, _ in selector.select(timeout=0.05):
            slot = key.data
            sock = sockets[slot]
            while True:
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    break
                received = time.monotonic()
                sent = outstanding[slot].pop(reply[1], None)
                if sent is None:
                    continue
                if received >= measure_from:
                    result.replies += 1
                    result.latencies.append(received - sent[0])
                    if reply[0] == 2:
                        result.accepts += 1
                    if result.replies % VERIFY_EVERY == 0:
                        try:
                            verify_reply(reply, sent[1][4:20], SECRET)
                        except ValueError:
                            result.bad_replies += 1
                send_next(slot)
        if now - last_sweep > 0.5:
            last_sweep = now
            for slot in range(sockets_count):
                late = [identifier for identifier, (sent_at, _) in outstanding[slot].items() if now - sent_at > REQUEST_TIMEOUT]
                for identifier in late:
                    del outstanding[slot][identifier]
                    result.lost += 1
                    send_next(slot)
    for sock in sockets:
        sock.close()
    queue.put(result)


# --- the driver --------------------------------------------------------------------------


class CpuSampler:
    """Sample a process's CPU seconds (user + system) every 50 ms, with monotonic timestamps."""

    def __init__(self, pid: int) -> None:
        import threading

        self._pid = pid
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            fields = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
            self._samples.append((time.monotonic(), (int(fields[11]) + int(fields[12])) / ticks))
            self._stop.wait(0.05)

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds used between two monotonic times (nearest samples)."""
        def at(moment: float) -> float:
            return min(self._samples, key=lambda sample: abs(sample[0] - moment))[1]
        return at(end) - at(start)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((SERVER_ADDRESS, 0))
        return sock.getsockname()[1]


def scenario_users(scenario: str, args: argparse.Namespace, facts: dict | None) -> list[tuple[str, bytes]]:
    if scenario == "ad":
        bulk = facts["bulk"]
        return [(f"{bulk['prefix']}{index:05d}@{facts['dns_domain']}", bulk["password"].encode())
                for index in range(1, bulk["count"] + 1)]
    return [(bench_login(index), PASSWORD) for index in range(args.users_for[scenario])]


def run_scenario(scenario: str, args: argparse.Namespace, facts: dict | None) -> dict:
    port = free_udp_port()
    users = scenario_users(scenario, args, facts)
    command = [sys.executable, __file__, "serve", "--scenario", scenario, "--port", str(port),
               "--users", str(len(users)), "--facts", str(args.facts), "--bind-pool", str(args.bind_pool)]
    if args.profile:
        command += ["--profile", f"{args.profile}.{scenario}"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"bench server for {scenario} did not start")
        expected = args.rate_hint[scenario] * (args.warmup + args.duration)
        sockets, window = args.sockets, args.window
        per_socket = max(300, int(expected * 1.3 / (args.workers * sockets)))
        if scenario == "totp":
            per_socket = min(per_socket, len(users) // (args.workers * sockets))
        worker_args = dict(scenario=scenario, port=port, users=users, sockets=sockets, window=window,
                           per_socket=per_socket, workers=args.workers, warmup=args.warmup,
                           duration=args.duration, source="127.0.0.1",
                           generator_cpus=[cpu for cpu in os.sched_getaffinity(0) if cpu != SERVER_CPU] or [SERVER_CPU])
        queue: multiprocessing.Queue = multiprocessing.Queue()
        barrier = multiprocessing.Barrier(args.workers)
        workers = [multiprocessing.Process(target=run_worker, args=(worker_args, n, queue, barrier))
                   for n in range(args.workers)]
        for worker in workers:
            worker.start()
        sampler = CpuSampler(server.pid)
        sampler.start()
        results = [queue.get(timeout=600) for _ in workers]
        sampler.stop()
        for worker in workers:
            worker.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    latencies = sorted(latency for result in results for latency in result.latencies)
    replies = sum(result.replies for result in results)
    cpu = sampler.cpu_between(min(r.window_start for r in results), max(r.window_end for r in results))
    return {
        "scenario": scenario,
        "requests_per_second": replies / args.duration,
        "server_cpu_share": cpu / args.duration,
        "cpu_us_per_request": cpu / replies * 1e6 if replies else float("nan"),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "accepted_share": sum(result.accepts for result in results) / replies if replies else 0.0,
        "lost": sum(result.lost for result in results),
        "bad_replies": sum(result.bad_replies for result in results),
        "exhausted": any(result.exhausted for result in results),
        "outstanding": args.workers * args.sockets * args.window,
    }


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="stub,totp,ad")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--sockets", type=int, default=32, help="source ports per generator process")
    parser.add_argument("--window", type=int, default=8, help="requests outstanding per source port")
    parser.add_argument("--facts", type=Path, default=DEFAULT_FACTS, help="ad.json of the test AD")
    parser.add_argument("--bind-pool", type=int, default=8, help="AD connections in the ad scenario (radius.bind_pool_size)")
    parser.add_argument("--profile", help="write the server's cProfile stats to PROFILE.<scenario>")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve")
    serve.add_argument("--scenario", required=True)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--users", type=int, required=True)
    serve.add_argument("--facts", default=str(DEFAULT_FACTS))
    serve.add_argument("--profile")
    serve.add_argument("--bind-pool", type=int, default=8)
    args = parser.parse_args()
    if args.command == "serve":
        run_server(args)
        return

    facts = json.loads(args.facts.read_text()) if args.facts.exists() else None
    args.rate_hint = {"stub": 15000, "totp": 8000, "ad": 1000}
    total_window = args.warmup + args.duration
    args.users_for = {"stub": 2000, "totp": int(args.rate_hint["totp"] * total_window * 1.3)}
    results = []
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; server pinned to CPU {SERVER_CPU}, {args.workers} generator process(es), "
          f"{args.workers * args.sockets} source ports, {args.workers * args.sockets * args.window} requests outstanding")
    print(f"{'scenario':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server CPU':>10} {'CPU µs/req':>10} "
          f"{'req/s per core':>14} {'accepted':>9} {'lost':>6} {'bad':>4}")
    for scenario in args.scenarios.split(","):
        if scenario == "ad" and facts is None:
            print(f"ad       skipped: {args.facts} not found (run scripts/test-ad up)")
            continue
        result = run_scenario(scenario, args, facts)
        results.append(result)
        print(f"{scenario:<8} {result['requests_per_second']:>9.0f} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
              f"{result['server_cpu_share']:>10.0%} {result['cpu_us_per_request']:>10.1f} "
              f"{1e6 / result['cpu_us_per_request']:>14.0f} "
              f"{result['accepted_share']:>8.1%} {result['lost']:>6} {result['bad_replies']:>4}"
              + ("  (generator ran out of requests)" if result["exhausted"] else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
