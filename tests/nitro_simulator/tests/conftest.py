"""Fixtures: a simulator in-process on 127.0.0.21 with an ephemeral port."""

from __future__ import annotations

import http.client
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.nitro_simulator import NitroSimulator, SimulatorConfig  # noqa: E402

USER = "nsroot"
PASSWORD = "sim-test-password"
ADDRESS = "127.0.0.21"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Client:
    """A minimal NITRO client over http.client; header auth unless told otherwise."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie: str | None = None
        self.use_header_auth = True

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None, auth: bool = True) -> Reply:
        all_headers = {"Content-Type": "application/json"}
        if auth and self.use_header_auth:
            all_headers.update({"X-NITRO-USER": USER, "X-NITRO-PASS": PASSWORD})
        if auth and self.cookie:
            all_headers["Cookie"] = f"NITRO_AUTH_TOKEN={self.cookie}"
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection(ADDRESS, self.port, timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
            parsed = json.loads(raw) if raw else {}
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)
        finally:
            connection.close()

    def config(self, method: str, resource: str, name: str | None = None, body: object = None, query: str = "", **kw: object) -> Reply:
        path = f"/nitro/v1/config/{resource}"
        if name is not None:
            path += "/" + quote(quote(name, safe=""), safe="")
        if query:
            path += "?" + query
        return self.request(method, path, body, **kw)  # type: ignore[arg-type]

    def add(self, resource: str, **attrs: object) -> Reply:
        return self.config("POST", resource, body={resource: attrs})

    def get(self, resource: str, name: str | None = None, query: str = "") -> Reply:
        return self.config("GET", resource, name, query=query)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def simulator(clock: FakeClock, tmp_path: Path) -> Iterator[NitroSimulator]:
    config = SimulatorConfig(address=ADDRESS, port=0, username=USER, password=PASSWORD, clock=clock, state_file=tmp_path / "state.json")
    simulator = NitroSimulator(config)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture()
def client(simulator: NitroSimulator) -> Client:
    assert simulator._server is not None
    return Client(simulator._server.server_address[1])


@pytest.fixture()
def gateway(client: Client) -> Client:
    """A client with an LDAP and a RADIUS action, their policies and a Gateway vserver."""
    assert client.add("authenticationldapaction", name="ldap1", serverip="127.0.0.11", ldapbinddnpassword="bindpw").status == 201
    assert client.add("authenticationradiusaction", name="rad1", serverip="127.0.0.11", radkey="radius-secret").status == 201
    assert client.add("authenticationldappolicy", name="ldappol", rule="ns_true", reqaction="ldap1").status == 201
    assert client.add("authenticationradiuspolicy", name="radpol", rule="ns_true", reqaction="rad1").status == 201
    assert client.add("authenticationpolicy", name="advpol", rule="true", action="rad1").status == 201
    assert client.add("vpnvserver", name="gw", servicetype="SSL", ipv46="127.0.0.30", port=443).status == 201
    return client
