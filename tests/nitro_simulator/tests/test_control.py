"""Bulk requests, the control endpoints and persistence."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from conftest import ADDRESS, PASSWORD, USER, Client

from tests.nitro_simulator import NitroSimulator, SimulatorConfig


def test_bulk_continue_returns_207_with_per_item_results(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    items = [{"name": "a1", "serverip": "127.0.0.2"}, {"name": "a2", "serverip": "127.0.0.2"}]
    reply = client.config("POST", "authenticationldapaction", body={"authenticationldapaction": items}, headers={"X-NITRO-ONERROR": "CONTINUE"})
    assert reply.status == 207
    assert reply.body["errorcode"] == 1243
    assert [item["errorcode"] for item in reply.body["response"]] == [273, 0]
    assert client.get("authenticationldapaction", "a2").status == 200


def test_bulk_exit_stops_at_first_error(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    items = [{"name": "a1", "serverip": "127.0.0.2"}, {"name": "a2", "serverip": "127.0.0.2"}]
    reply = client.config("POST", "authenticationldapaction", body={"authenticationldapaction": items}, headers={"X-NITRO-ONERROR": "EXIT"})
    assert [item["errorcode"] for item in reply.body["response"]] == [273]
    assert client.get("authenticationldapaction", "a2").status == 404


def test_bulk_rollback_undoes_earlier_items(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    items = [{"name": "a0", "serverip": "127.0.0.2"}, {"name": "a1", "serverip": "127.0.0.2"}]
    reply = client.config("POST", "authenticationldapaction", body={"authenticationldapaction": items}, headers={"X-NITRO-ONERROR": "ROLLBACK"})
    assert reply.status == 207
    assert client.get("authenticationldapaction", "a0").status == 404


def test_bulk_all_good_returns_201(client: Client) -> None:
    items = [{"name": "a1", "serverip": "127.0.0.2"}, {"name": "a2", "serverip": "127.0.0.2"}]
    assert client.config("POST", "authenticationldapaction", body={"authenticationldapaction": items}).status == 201


def test_stats_count_writes_but_not_login_or_get(client: Client) -> None:
    client.config("POST", "login", body={"login": {"username": USER, "password": PASSWORD}}, auth=False)
    client.get("nsversion")
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.config("POST", "logout", body={"logout": {}})
    stats = client.request("GET", "/_sim/stats", auth=False).body
    assert stats["writes"] == 1
    assert stats["write_log"] == ["POST /nitro/v1/config/authenticationldapaction"]
    assert stats["logins"] == 1
    assert stats["by_method"]["GET"] == 1


def test_stats_reset_clears_counters(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.request("POST", "/_sim/stats/reset", auth=False)
    assert client.request("GET", "/_sim/stats", auth=False).body["writes"] == 0


def test_fail_injects_status_once(client: Client) -> None:
    client.request("POST", "/_sim/fail", {"status": 599, "errorcode": 1239, "times": 1, "method": "GET"}, auth=False)
    first = client.get("nsversion")
    assert (first.status, first.body["errorcode"]) == (599, 1239)
    assert client.get("nsversion").status == 200


def test_fail_delay_slows_request(client: Client) -> None:
    client.request("POST", "/_sim/fail", {"delay": 0.3, "path": "/nitro/v1/config/nsversion"}, auth=False)
    started = time.monotonic()
    assert client.get("nsversion").status == 200
    assert time.monotonic() - started >= 0.3


def test_fail_drop_closes_connection(client: Client) -> None:
    client.request("POST", "/_sim/fail", {"drop": True}, auth=False)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        client.get("nsversion")


def test_fail_rejects_unknown_keys(client: Client) -> None:
    assert client.request("POST", "/_sim/fail", {"explode": True}, auth=False).status == 400


def test_state_dump_has_fingerprint_not_secret(client: Client) -> None:
    client.add("authenticationradiusaction", name="r1", serverip="127.0.0.2", radkey="radius-secret")
    state = client.request("GET", "/_sim/state", auth=False).body
    stored = state["objects"]["authenticationradiusaction"]["r1"]["radkey"]
    assert "radius-secret" not in json.dumps(state)
    assert len(stored["sha256"]) == 64


def test_reset_clears_configuration(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.request("POST", "/_sim/reset", auth=False)
    assert client.get("authenticationldapaction", "a1").status == 404


def test_state_file_survives_restart(simulator: NitroSimulator, client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.config("POST", "nsconfig", body={"nsconfig": {}}, query="action=save")
    state_file = simulator.config.state_file
    assert state_file is not None
    second = NitroSimulator(SimulatorConfig(address=ADDRESS, port=0, username=USER, password=PASSWORD, state_file=state_file))
    second.start()
    try:
        again = Client(second._server.server_address[1])  # type: ignore[union-attr]
        assert again.get("authenticationldapaction", "a1").status == 200
        assert again.request("GET", "/_sim/stats", auth=False).body["saves"] == 1
    finally:
        second.stop()
