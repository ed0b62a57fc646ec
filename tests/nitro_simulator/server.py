"""HTTP front end of the NITRO simulator: routing, authentication, rendering.

``NitroSimulator.handle`` turns one request into one response and holds no
socket, so the HTTP handler stays thin. Control endpoints live under
``/_sim/`` and need no credentials.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import unquote

from . import errors
from .catalog import AGGREGATE_BINDINGS, BINDING_SPECS, OBJECT_SPECS
from .control import Faults, Sessions, Stats
from .schema import DISABLE, ENABLE
from .store import ConfigStore

LOG = logging.getLogger("factorgate.nitro_simulator")

CONFIG_PREFIX = "/nitro/v1/config/"
CONTROL_PREFIX = "/_sim/"
JSON_TYPE = "application/json; charset=utf-8"
VERSION_STRING = "NetScaler NS14.1: Build 25.53.nc, Date: Jun 18 2024, 03:24:51   (64-bit)"
DONE = {"errorcode": 0, "message": "Done", "severity": "NONE"}
SINGLETONS = ("nsversion", "nsfeature", "nsconfig")
# Features whose absence the appliance reports as warning 1067 on add.
FEATURE_OF_RESOURCE = {"vpnvserver": "SSLVPN", "vpnportaltheme": "SSLVPN", "lbvserver": "LB"}


@dataclass
class SimulatorConfig:
    address: str = "127.0.0.20"
    port: int = 80
    username: str = "nsroot"
    password: str = "nsroot"
    session_timeout: float = 1800.0
    state_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    clock: Callable[[], float] = time.monotonic


@dataclass
class Response:
    status: int
    body: dict[str, object] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def cookie(self, name: str) -> str | None:
        for part in (self.header("Cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None


def parse_query(raw: str) -> dict[str, str]:
    """Split a query string; NITRO separates pagesize/pageno with ';' too."""
    query: dict[str, str] = {}
    for part in raw.replace(";", "&").split("&"):
        if part:
            key, _, value = part.partition("=")
            query[unquote(key)] = value
    return query


def parse_pairs(raw: str | None) -> dict[str, str]:
    """Parse ``k:v,k2:v2`` as in ``args`` and ``filter``; values are URL-decoded once."""
    pairs: dict[str, str] = {}
    if not raw:
        return pairs
    for part in raw.split(","):
        key, sep, value = part.partition(":")
        if not sep:
            raise errors.invalid_argument(unquote(part))
        pairs[unquote(key)] = unquote(value)
    return pairs


def error_response(error: errors.NitroError) -> Response:
    return Response(error.http_status, error.body())


class NitroSimulator:
    """One simulated NetScaler appliance."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.store = ConfigStore()
        self.sessions = Sessions(config.clock, config.session_timeout)
        self.stats = Stats()
        self.faults = Faults()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._load_state()

    # ----- lifecycle ------------------------------------------------------

    def bind(self) -> tuple[str, int]:
        """Open the listening socket and return the bound (address, port)."""
        server = _SimulatorHTTPServer((self.config.address, self.config.port), _Handler)
        server.simulator = self
        if self.config.tls_cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.config.tls_cert), str(self.config.tls_key or self.config.tls_cert))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        host, port = server.server_address[:2]
        LOG.info("NITRO simulator listening on %s:%s", host, port)
        return str(host), int(port)

    def serve_forever(self) -> None:
        assert self._server is not None, "call bind() first"
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> tuple[str, int]:
        """Bind and serve in a daemon thread; return the bound (address, port)."""
        address = self.bind()
        self._thread = threading.Thread(target=self.serve_forever, name="nitro-simulator", daemon=True)
        self._thread.start()
        return address

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            LOG.info("NITRO simulator stopped")
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ----- persistence ----------------------------------------------------

    def _load_state(self) -> None:
        path = self.config.state_file
        if path is not None and path.exists() and path.stat().st_size:
            self.store.load_json(json.loads(path.read_text()))
            LOG.info("loaded simulator state from %s", path)

    def _persist(self) -> None:
        path = self.config.state_file
        if path is None:
            return
        data = json.dumps(self.store.to_json(), indent=1, sort_keys=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w") as stream:
            stream.write(data)
        os.replace(temporary, path)

    # ----- request handling ------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._handle_control(request)
        resource = self._resource_of(request.path)
        self.stats.record(request.method, request.path, resource)

        fault = self.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return Response(0, drop=True)
            if fault.status is not None:
                body = {"errorcode": fault.errorcode, "message": fault.message or errors.MESSAGES.get(fault.errorcode, "Injected failure"), "severity": "ERROR"}
                return Response(fault.status, body)

        try:
            response = self._handle_nitro(request, resource)
        except errors.NitroError as error:
            LOG.debug("%s %s failed: %s", request.method, request.path, error)
            response = error_response(error)
        if request.method != "GET" and response.status in (200, 201, 207, 209):
            with self.store.lock:
                self._persist()
        return response

    @staticmethod
    def _resource_of(path: str) -> str | None:
        if not path.startswith(CONFIG_PREFIX):
            return None
        return path[len(CONFIG_PREFIX):].split("/", 1)[0]

    def _handle_nitro(self, request: Request, resource: str | None) -> Response:
        if resource is None or not resource:
            raise errors.not_found("url", request.path)
        rest = request.path[len(CONFIG_PREFIX) + len(resource):].lstrip("/")
        # Clients double-URL-encode the name in the path; decode twice.
        name = unquote(unquote(rest)) if rest else None

        if resource == "login":
            return self._login(request)
        self._authenticate(request)
        if resource == "logout":
            return self._logout(request)

        with self.store.lock:
            if resource in SINGLETONS:
                return self._handle_singleton(request, resource)
            if resource in AGGREGATE_BINDINGS:
                return self._handle_aggregate(request, resource, name)
            if resource in BINDING_SPECS:
                return self._handle_binding(request, resource, name)
            if resource in OBJECT_SPECS:
                return self._handle_object(request, resource, name)
        # NOTE: the code for an unknown resource type is inferred.
        raise errors.invalid_argument(resource)

    # ----- authentication -------------------------------------------------

    def _login(self, request: Request) -> Response:
        if request.method != "POST":
            raise errors.NitroError(errors.INVALID_ACTION, f"{request.method.lower()}, login")
        payload = self._payload(request, "login")
        if isinstance(payload, list):
            raise errors.invalid_argument("login")
        username = payload.get("username")
        password = payload.get("password")
        if not username:
            raise errors.missing_argument("username")
        if username != self.config.username or password != self.config.password:
            raise errors.NitroError(errors.INVALID_CREDENTIALS)
        timeout = payload.get("timeout")
        if timeout is not None and (not isinstance(timeout, int) or timeout < 1):
            raise errors.invalid_value("timeout", timeout)
        token = self.sessions.create(str(username), timeout)
        body = dict(DONE, sessionid=token)
        return Response(201, body, {"Set-Cookie": f"NITRO_AUTH_TOKEN={token}; path=/nitro/v1"})

    def _authenticate(self, request: Request) -> None:
        """Accept header credentials or a live session cookie.

        Raises:
            NitroError: 354 for wrong or missing credentials, 444 for an
                unknown or expired session.
        """
        user = request.header("X-NITRO-USER")
        if user is not None:
            if user != self.config.username or request.header("X-NITRO-PASS") != self.config.password:
                raise errors.NitroError(errors.INVALID_CREDENTIALS)
            return
        token = request.cookie("NITRO_AUTH_TOKEN")
        if token:
            self.sessions.touch(token)
            return
        # NOTE: 354 for a request with no credentials at all matches what the
        # appliance is reported to send; some clients also expect 1027
        # "Not logged in" here, so they should treat both as "log in again".
        raise errors.NitroError(errors.INVALID_CREDENTIALS)

    def _logout(self, request: Request) -> Response:
        if request.method != "POST":
            raise errors.NitroError(errors.INVALID_ACTION, f"{request.method.lower()}, logout")
        token = request.cookie("NITRO_AUTH_TOKEN")
        if token:
            self.sessions.end(token)
        return Response(200, dict(DONE))

    # ----- dispatch -------------------------------------------------------

    def _handle_singleton(self, request: Request, resource: str) -> Response:
        action = request.query.get("action")
        if resource == "nsversion" and request.method == "GET":
            return Response(200, dict(DONE, nsversion={"version": VERSION_STRING, "mode": "1"}))
        if resource == "nsfeature" and request.method == "GET":
            return Response(200, dict(DONE, nsfeature=self.store.render_features()))
        if resource == "nsfeature" and request.method == "POST" and action in (ENABLE, DISABLE):
            payload = self._single_payload(request, resource)
            self.store.set_features(payload, enable=action == ENABLE)
            return Response(200, dict(DONE))
        if resource == "nsconfig" and request.method == "POST" and action == "save":
            self._single_payload(request, resource)
            self.store.saves += 1
            return Response(200, dict(DONE))
        if resource == "nsconfig" and request.method == "GET":
            row = {"ipaddress": self.config.address, "netmask": "255.255.255.0", "saves": str(self.store.saves)}
            return Response(200, dict(DONE, nsconfig=row))
        raise errors.NitroError(errors.INVALID_ACTION, f"{action or request.method.lower()}, {resource}")

    def _handle_aggregate(self, request: Request, resource: str, name: str | None) -> Response:
        if request.method != "GET":
            raise errors.NitroError(errors.INVALID_ACTION, f"{request.method.lower()}, {resource}")
        if name is None:
            raise errors.missing_argument("name")
        return Response(200, dict(DONE, **{resource: [self.store.get_aggregate(resource, name)]}))

    def _handle_binding(self, request: Request, resource: str, name: str | None) -> Response:
        if request.method == "GET":
            bulk = request.query.get("bulkbindings") == "yes"
            rows = self.store.get_bindings(resource, name, bulk)
            return self._render_rows(request, resource, rows)
        if request.method in ("PUT", "POST") and "action" not in request.query:
            return self._run_writes(request, resource, lambda item: self.store.bind(resource, item), 201)
        if request.method == "DELETE":
            if name is None:
                raise errors.missing_argument(BINDING_SPECS[resource].parent_key)
            self.store.unbind(resource, name, parse_pairs(request.query.get("args")))
            return Response(200, dict(DONE))
        raise errors.NitroError(errors.INVALID_ACTION, f"{request.query.get('action', request.method.lower())}, {resource}")

    def _handle_object(self, request: Request, resource: str, name: str | None) -> Response:
        spec = OBJECT_SPECS[resource]
        action = request.query.get("action")
        if request.method == "GET":
            rows = self.store.get(resource, name, parse_pairs(request.query.get("args")))
            return self._render_rows(request, resource, rows)
        if request.method == "POST" and action is None:
            response = self._run_writes(request, resource, lambda item: self.store.add(resource, item), 201)
            return self._with_feature_warning(request, resource, response)
        if request.method == "POST" and action in ("unset", "rename", ENABLE, DISABLE):
            operation = {
                "unset": lambda item: self.store.unset(resource, item),
                "rename": lambda item: self.store.rename(resource, item),
            }.get(action, lambda item: self.store.set_state(resource, item, action))
            return self._run_writes(request, resource, operation, 200)
        if request.method == "PUT" and action is None:
            return self._run_writes(request, resource, lambda item: self.store.update(resource, item, name), 200)
        if request.method == "DELETE":
            if name is None:
                raise errors.missing_argument(spec.key)
            self.store.delete(resource, name, parse_pairs(request.query.get("args")))
            return Response(200, dict(DONE))
        raise errors.NitroError(errors.INVALID_ACTION, f"{action or request.method.lower()}, {resource}")

    # ----- writes and bulk --------------------------------------------------

    def _run_writes(self, request: Request, resource: str, operation: Callable[[dict[str, object]], None], status: int) -> Response:
        payload = self._payload(request, resource)
        if not isinstance(payload, list):
            operation(payload)
            return Response(status, dict(DONE))
        return self._run_bulk(request, payload, operation, status)

    def _run_bulk(self, request: Request, items: list[dict[str, object]], operation: Callable[[dict[str, object]], None], status: int) -> Response:
        """Apply an array payload item by item, as X-NITRO-ONERROR says."""
        mode = (request.header("X-NITRO-ONERROR") or "EXIT").upper()
        if mode not in ("EXIT", "CONTINUE", "ROLLBACK"):
            raise errors.invalid_value("X-NITRO-ONERROR", mode)
        snapshot = self.store.snapshot() if mode == "ROLLBACK" else None
        results: list[dict[str, object]] = []
        failed = False
        for item in items:
            try:
                if not isinstance(item, dict):
                    raise errors.NitroError(errors.INVALID_JSON_INPUT)
                operation(item)
                results.append(dict(DONE))
            except errors.NitroError as error:
                failed = True
                results.append(error.body())
                if mode != "CONTINUE":
                    break
        if not failed:
            return Response(status, dict(DONE))
        if snapshot is not None:
            self.store.restore(snapshot)
        body = {"errorcode": errors.BULK_OPERATION_FAILED, "message": errors.MESSAGES[errors.BULK_OPERATION_FAILED], "severity": "ERROR", "response": results}
        return Response(207, body)

    def _with_feature_warning(self, request: Request, resource: str, response: Response) -> Response:
        feature = FEATURE_OF_RESOURCE.get(resource)
        if request.query.get("warning") != "yes" or feature is None or feature in self.store.features:
            return response
        if response.status != 201:
            return response
        return Response(209, response.body, {"X-NITRO-WARNING": f"{errors.FEATURE_DISABLED} - {errors.MESSAGES[errors.FEATURE_DISABLED]} [{feature}]"})

    def _payload(self, request: Request, resource: str) -> dict[str, object] | list[dict[str, object]]:
        try:
            document = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise errors.NitroError(errors.INVALID_JSON_INPUT) from None
        if not isinstance(document, dict):
            raise errors.NitroError(errors.INVALID_JSON_INPUT)
        for key in document:
            if key != resource:
                raise errors.invalid_argument(key)
        payload = document.get(resource)
        if payload is None:
            raise errors.missing_argument(resource)
        if not isinstance(payload, (dict, list)):
            raise errors.NitroError(errors.INVALID_JSON_INPUT)
        return payload

    def _single_payload(self, request: Request, resource: str) -> dict[str, object]:
        payload = self._payload(request, resource)
        if isinstance(payload, list):
            raise errors.invalid_argument(resource)
        return payload

    # ----- GET rendering ------------------------------------------------------

    def _render_rows(self, request: Request, resource: str, rows: list[dict[str, object]]) -> Response:
        for key, wanted in parse_pairs(request.query.get("filter")).items():
            rows = [row for row in rows if _filter_matches(row.get(key), wanted)]
        if request.query.get("count") == "yes":
            return Response(200, dict(DONE, **{resource: [{"__count": len(rows)}]}))
        rows = _paginate(rows, request.query)
        attrs = request.query.get("attrs")
        if attrs:
            wanted_attrs = [unquote(name) for name in attrs.split(",")]
            rows = [{name: row[name] for name in wanted_attrs if name in row} for row in rows]
        body = dict(DONE)
        if rows:
            body[resource] = rows
        return Response(200, body)

    # ----- control endpoints ------------------------------------------------

    def _handle_control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX):].rstrip("/")
        try:
            body = json.loads(request.body or b"{}")
        except json.JSONDecodeError:
            return Response(400, {"error": "the body is not valid JSON"})
        if request.method == "GET" and action == "state":
            state = self.store.to_json()
            state["sessions"] = self.sessions.count()
            return Response(200, state)
        if request.method == "GET" and action == "stats":
            stats = self.stats.to_json()
            stats["saves"] = self.store.saves
            return Response(200, stats)
        if request.method == "POST" and action == "stats/reset":
            self.stats.reset()
            return Response(200, {"reset": "stats"})
        if request.method == "POST" and action == "reset":
            return self._reset()
        if request.method == "POST" and action == "fail":
            return self._add_fault(body)
        if request.method == "DELETE" and action == "fail":
            self.faults.clear()
            return Response(200, {"cleared": "faults"})
        return Response(404, {"error": f"no control endpoint {request.method} {request.path}"})

    def _reset(self) -> Response:
        with self.store.lock:
            self.store.load_json({})
            self._persist()
        self.sessions.expire_all()
        self.stats.reset()
        self.faults.clear()
        return Response(200, {"reset": "all"})

    def _add_fault(self, body: object) -> Response:
        if not isinstance(body, dict):
            return Response(400, {"error": "the body must be a JSON object"})
        spec = dict(body)
        if spec.pop("expire_sessions", False):
            self.sessions.expire_all()
        advance = spec.pop("advance_clock", None)
        if advance is not None:
            self.sessions.offset += float(advance)
        if not spec:
            return Response(200, {"pending_faults": self.faults.pending()})
        try:
            self.faults.add(spec)
        except (TypeError, ValueError) as error:
            return Response(400, {"error": str(error)})
        return Response(200, {"pending_faults": self.faults.pending()})


def _filter_matches(value: object, wanted: str) -> bool:
    # NOTE: the reference calls filter values PCRE; the simulator compares
    # exactly, which is what an exact name filter needs.
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    return value is not None and str(value) == wanted


def _paginate(rows: list[dict[str, object]], query: Mapping[str, str]) -> list[dict[str, object]]:
    size = query.get("pagesize")
    if not size:
        return rows
    page = int(query.get("pageno", "1") or 1)
    start = (page - 1) * int(size)
    return rows[start : start + int(size)]


class _SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: NitroSimulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SimulatorHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, parse_query(query), dict(self.headers.items()), body)
        response = self.server.simulator.handle(request)
        if response.drop:
            self.close_connection = True
            return
        payload = response.encoded()
        self.send_response(response.status, _reason(response.status))
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        LOG.debug("%s %s", self.address_string(), format % args)


def _reason(status: int) -> str | None:
    return {207: "Multi Status", 209: "X-NITRO-WARNING", 599: "Netscaler specific error"}.get(status)
