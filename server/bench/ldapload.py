"""An LDAP simple-bind load generator for bench_ldap.py.

Each worker process runs one asyncio loop with persistent connections and
sends raw BindRequests on them, one outstanding request per connection
(RFC 4511 §4.2.1 forbids other PDUs while a bind is in progress). Two modes:

- closed loop: every connection sends its next bind as soon as the response
  to the previous one arrives, so the rate found is the maximum the target
  sustains with that many clients;
- paced (open loop): binds are scheduled at a fixed rate, and the latency of
  each is measured from its scheduled time, so a slow server cannot hide its
  queueing by slowing the generator down (no coordinated omission).

Credentials come from a `Credentials` object. `TotpCredentials` appends a
fresh TOTP code to each password and never uses one user twice in one 30-s
time step, because the server refuses a replayed step. Workers return their
TOTP state so the next window in the same step continues where they stopped.
"""

from __future__ import annotations

import array
import asyncio
import multiprocessing
import resource
import ssl
import time
from dataclasses import dataclass, field

from factorgate.factors.otp import totp
from factorgate.ldap.ber import MessageFramer
from factorgate.ldap.messages import decode_envelope, decode_result, encode_bind_request

MAX_RESPONSE_SIZE = 64 * 1024
TOTP_PERIOD = 30


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    ldaps: bool = False
    ca_file: str | None = None

    def client_tls(self) -> ssl.SSLContext | None:
        if not self.ldaps:
            return None
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass
class BenchUser:
    dn: bytes
    password: bytes
    seed: bytes = b""


class Credentials:
    """Rotate through a list of users; the password is sent as it is."""

    def __init__(self, users: list[BenchUser], cursor: int = 0) -> None:
        if not users:
            raise ValueError("Credentials needs at least one user")
        self.users = users
        self.cursor = cursor % len(users)
        self.stall_seconds = 0.0

    async def next(self) -> tuple[bytes, bytes]:
        user = self.users[self.cursor]
        self.cursor = (self.cursor + 1) % len(self.users)
        return user.dn, user.password


class TotpCredentials(Credentials):
    """Append each user's current TOTP code, using each user at most once per time step.

    When every user has been used in the current step, `next` waits for the
    next step and adds the wait to `stall_seconds`. A closed-loop rate measured
    with stalls is limited by the number of users, not by the server.
    """

    def __init__(self, users: list[BenchUser], last_steps: list[int] | None = None, cursor: int = 0) -> None:
        super().__init__(users, cursor)
        self.last_steps = last_steps if last_steps is not None else [-1] * len(users)

    async def next(self) -> tuple[bytes, bytes]:
        now = time.time()
        step = int(now // TOTP_PERIOD)
        if self.last_steps[self.cursor] >= step:
            # Users are taken in cursor order, so if the next one was used in
            # this step, every user was.
            wait = (step + 1) * TOTP_PERIOD - now + 0.05
            self.stall_seconds += wait
            await asyncio.sleep(wait)
            now = time.time()
            step = int(now // TOTP_PERIOD)

        index = self.cursor
        self.cursor = (self.cursor + 1) % len(self.users)
        self.last_steps[index] = step
        user = self.users[index]
        code = totp(user.seed, now, 6, "SHA1", TOTP_PERIOD).encode("ascii")
        return user.dn, user.password + code


class BindConnection(asyncio.Protocol):
    """One persistent client connection with at most one bind in flight."""

    def __init__(self) -> None:
        self.framer = MessageFramer(MAX_RESPONSE_SIZE)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.message_id = 0
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        for raw in self.framer.feed(data):
            result = decode_result(decode_envelope(raw, full_walk=False))
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(result.result_code)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))
        if not self.lost.done():
            self.lost.set_result(None)

    async def bind(self, dn: bytes, password: bytes) -> int:
        """Send one simple bind and return the result code."""
        self.message_id = self.message_id % 2_000_000_000 + 1
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(encode_bind_request(self.message_id, dn, password))
        return await self.waiter


async def open_connection(target: Target, tls: ssl.SSLContext | None) -> BindConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(BindConnection, target.host, target.port, ssl=tls,
                                               server_hostname=target.host if tls else None)
    return protocol


@dataclass
class WindowSpec:
    """One measurement window, as given to each worker process.

    Times are `time.time()` values so that all worker processes agree on them.
    """

    target: Target
    users: list[BenchUser]
    totp: bool
    connections: int
    warmup_until: float
    measure_until: float
    rate: float = 0.0                         # binds/s for this worker; 0 means closed loop
    last_steps: list[int] | None = None       # TotpCredentials state from the previous window
    cursor: int = 0


@dataclass
class WindowResult:
    latencies: array.array = field(default_factory=lambda: array.array("d"))   # seconds, measured binds only
    successes: int = 0
    failures: dict[int, int] = field(default_factory=dict)   # result code -> count
    errors: int = 0                                          # lost connections
    cpu_seconds: float = 0.0                                 # this worker's user+system CPU in the window
    stall_seconds: float = 0.0
    measured_seconds: float = 0.0     # the window minus any part lost to slow connection set-up
    last_steps: list[int] | None = None
    cursor: int = 0

    def record(self, code: int, latency: float, measured: bool) -> None:
        if not measured:
            return
        if code == 0:
            self.successes += 1
            self.latencies.append(latency)
        else:
            self.failures[code] = self.failures.get(code, 0) + 1


def build_credentials(spec: WindowSpec) -> Credentials:
    if spec.totp:
        return TotpCredentials(spec.users, spec.last_steps, spec.cursor)
    return Credentials(spec.users, spec.cursor)


async def run_closed_loop(spec: WindowSpec, connections: list[BindConnection], credentials: Credentials,
                          result: WindowResult) -> None:
    async def drive(connection: BindConnection) -> None:
        while time.time() < spec.measure_until:
            dn, password = await credentials.next()
            started = time.perf_counter()
            sent_at = time.time()
            code = await connection.bind(dn, password)
            result.record(code, time.perf_counter() - started, sent_at >= spec.warmup_until and time.time() <= spec.measure_until)

    await asyncio.gather(*(drive(connection) for connection in connections))


async def run_paced(spec: WindowSpec, connections: list[BindConnection], credentials: Credentials,
                    result: WindowResult) -> None:
    idle: asyncio.Queue[BindConnection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    interval = 1.0 / spec.rate
    in_flight: set[asyncio.Task] = set()
    # perf_counter and time.time advance together over a window; perf_counter is monotonic.
    offset = time.time() - time.perf_counter()

    async def send(connection: BindConnection, scheduled: float) -> None:
        dn, password = await credentials.next()
        code = await connection.bind(dn, password)
        finished = time.perf_counter()
        idle.put_nowait(connection)
        result.record(code, finished - scheduled,
                      scheduled + offset >= spec.warmup_until and finished + offset <= spec.measure_until)

    scheduled = time.perf_counter()
    end = spec.measure_until - offset
    while scheduled < end:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        connection = await idle.get()   # when every connection is busy, the wait counts as latency
        task = asyncio.get_running_loop().create_task(send(connection, scheduled))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        scheduled += interval
    if in_flight:
        await asyncio.wait(in_flight)


async def run_window_async(spec: WindowSpec) -> WindowResult:
    result = WindowResult()
    tls = spec.target.client_tls()
    # One at a time: a burst of connects overflows Samba's listen queue, and
    # each dropped SYN costs a 1-s retransmission.
    connections = [await open_connection(spec.target, tls) for _ in range(spec.connections)]
    credentials = build_credentials(spec)
    result.measured_seconds = spec.measure_until - max(spec.warmup_until, time.time())

    cpu_start = process_cpu_seconds()
    try:
        if spec.rate > 0:
            await run_paced(spec, connections, credentials, result)
        else:
            await run_closed_loop(spec, connections, credentials, result)
    except ConnectionError:
        result.errors += 1
    result.cpu_seconds = process_cpu_seconds() - cpu_start

    for connection in connections:
        connection.transport.close()
    result.stall_seconds = credentials.stall_seconds
    result.cursor = credentials.cursor
    if isinstance(credentials, TotpCredentials):
        result.last_steps = credentials.last_steps
    return result


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_window(spec: WindowSpec) -> WindowResult:
    """Entry point of a worker process."""
    return asyncio.run(run_window_async(spec))


class WorkerPool:
    """A fixed number of worker processes, each owning a fixed share of the users.

    Worker j always gets users j, j + P, j + 2P, ..., so its position in the
    rotation and its TOTP state (the last step used per user) carry over from
    one window to the next.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool = multiprocessing.get_context("fork").Pool(processes)
        self._rotation_state: dict[tuple[int, int], tuple[list[int], int]] = {}

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def run(self, target: Target, users: list[BenchUser], totp_codes: bool, connections: int,
            start: float, warmup: float, seconds: float, rate: float = 0.0) -> WindowResult:
        """Run one window on every worker and merge the results.

        `start` is a `time.time()` value far enough ahead for the workers to
        connect; warm-up binds run from then until `start + warmup`.
        """
        specs = []
        for worker in range(self.processes):
            share = users[worker::self.processes]
            key = (worker, id(users))
            last_steps, cursor = self._rotation_state.get(key, (None, 0))
            specs.append(WindowSpec(
                target=target, users=share, totp=totp_codes,
                connections=split_evenly(connections, self.processes, worker),
                warmup_until=start + warmup, measure_until=start + warmup + seconds,
                rate=rate / self.processes, last_steps=last_steps, cursor=cursor,
            ))
        results = self._pool.map(run_window, specs)
        for worker, result in enumerate(results):
            self._rotation_state[(worker, id(users))] = (result.last_steps, result.cursor)
        return merge_results(results)


def split_evenly(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def merge_results(results: list[WindowResult]) -> WindowResult:
    merged = WindowResult(measured_seconds=min(result.measured_seconds for result in results))
    for result in results:
        merged.latencies.extend(result.latencies)
        merged.successes += result.successes
        for code, count in result.failures.items():
            merged.failures[code] = merged.failures.get(code, 0) + count
        merged.errors += result.errors
        merged.cpu_seconds += result.cpu_seconds
        merged.stall_seconds += result.stall_seconds
    return merged


async def bind_each_once(target: Target, users: list[BenchUser], connections: int) -> dict[int, int]:
    """Bind once as every user, without a code; return the count of binds per result code."""
    tls = target.client_tls()
    pool = [await open_connection(target, tls) for _ in range(connections)]
    remaining = iter(users)
    outcomes: dict[int, int] = {}

    async def drive(connection: BindConnection) -> None:
        for user in remaining:
            code = await connection.bind(user.dn, user.password)
            outcomes[code] = outcomes.get(code, 0) + 1

    await asyncio.gather(*(drive(connection) for connection in pool))
    for connection in pool:
        connection.transport.close()
    return outcomes


async def hold_idle_connections(host: str, port: int, count: int, batch: int = 250) -> list[asyncio.Transport]:
    """Open `count` plain TCP connections that send nothing; return their transports."""
    loop = asyncio.get_running_loop()
    transports: list[asyncio.Transport] = []
    for first in range(0, count, batch):
        size = min(batch, count - first)
        opened = await asyncio.gather(*(loop.create_connection(asyncio.Protocol, host, port) for _ in range(size)))
        transports.extend(transport for transport, _ in opened)
    return transports


def raise_open_files_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"RLIMIT_NOFILE hard limit is {hard}, below the {needed} descriptors needed: raise it with ulimit -Hn")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
