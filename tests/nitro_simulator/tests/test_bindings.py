"""Bindings: bind with PUT or POST, no update, unbind by the whole binding key."""

from __future__ import annotations

from conftest import Client

LDAP_BINDING = "vpnvserver_authenticationldappolicy_binding"
RADIUS_BINDING = "vpnvserver_authenticationradiuspolicy_binding"
POLICY_BINDING = "vpnvserver_authenticationpolicy_binding"


def bind(client: Client, resource: str, method: str = "PUT", **attrs: object) -> object:
    return client.config(method, resource, body={resource: attrs})


def test_bind_with_put_returns_201(gateway: Client) -> None:
    reply = bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert reply.status == 201
    assert reply.body["errorcode"] == 0


def test_bind_with_post_returns_201(gateway: Client) -> None:
    assert bind(gateway, RADIUS_BINDING, "POST", name="gw", policy="radpol", priority=100, secondary=True).status == 201


def test_binding_get_returns_priority_as_string(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    rows = gateway.get(LDAP_BINDING, "gw").body[LDAP_BINDING]
    assert rows == [{"name": "gw", "policy": "ldappol", "priority": "100", "acttype": "0"}]


def test_binding_get_without_bindings_returns_200_without_key(gateway: Client) -> None:
    reply = gateway.get(LDAP_BINDING, "gw")
    assert reply.status == 200
    assert LDAP_BINDING not in reply.body


def test_binding_get_missing_vserver_returns_404_258(gateway: Client) -> None:
    assert gateway.get(LDAP_BINDING, "nope").status == 404


def test_binding_same_key_again_returns_409_273(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    reply = bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=110)
    assert reply.status == 409
    assert reply.body["errorcode"] == 273


def test_binding_same_policy_as_secondary_is_distinct(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100, secondary=True).status == 201


def test_binding_missing_policy_returns_599_errorcode_2054(gateway: Client) -> None:
    reply = bind(gateway, LDAP_BINDING, name="gw", policy="ghost", priority=100)
    assert reply.status == 599
    assert reply.body["errorcode"] == 2054


def test_binding_missing_vserver_returns_404_258(gateway: Client) -> None:
    reply = bind(gateway, LDAP_BINDING, name="nope", policy="ldappol", priority=100)
    assert reply.body["errorcode"] == 258


def test_binding_unknown_attribute_returns_278(gateway: Client) -> None:
    assert bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", weight=1).body["errorcode"] == 278


def test_unbind_with_args_returns_200(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert gateway.config("DELETE", LDAP_BINDING, "gw", query="args=policy:ldappol").status == 200
    assert LDAP_BINDING not in gateway.get(LDAP_BINDING, "gw").body


def test_unbind_matches_whole_key_secondary(gateway: Client) -> None:
    bind(gateway, RADIUS_BINDING, name="gw", policy="radpol", priority=100, secondary=True)
    reply = gateway.config("DELETE", RADIUS_BINDING, "gw", query="args=policy:radpol")
    assert reply.status == 599
    assert reply.body["errorcode"] == 2097
    assert gateway.config("DELETE", RADIUS_BINDING, "gw", query="args=policy:radpol,secondary:true").status == 200


def test_unbind_ignores_priority_arg(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert gateway.config("DELETE", LDAP_BINDING, "gw", query="args=policy:ldappol,priority:999").status == 200


def test_unbind_without_policy_arg_returns_1095(gateway: Client) -> None:
    assert gateway.config("DELETE", LDAP_BINDING, "gw").body["errorcode"] == 1095


def test_delete_bound_policy_is_rejected(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    reply = gateway.config("DELETE", "authenticationldappolicy", "ldappol")
    assert reply.status == 599
    assert reply.body["errorcode"] == 315


def test_advanced_after_classic_returns_2236(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    reply = bind(gateway, POLICY_BINDING, name="gw", policy="advpol", priority=100)
    assert reply.body["errorcode"] == 2236


def test_classic_after_advanced_returns_2235(gateway: Client) -> None:
    bind(gateway, POLICY_BINDING, name="gw", policy="advpol", priority=100)
    assert bind(gateway, RADIUS_BINDING, name="gw", policy="radpol", priority=100).body["errorcode"] == 2235


def test_binding_put_is_not_an_update(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=50)
    assert gateway.get(LDAP_BINDING, "gw").body[LDAP_BINDING][0]["priority"] == "100"


def test_aggregate_vpnvserver_binding(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    bind(gateway, RADIUS_BINDING, name="gw", policy="radpol", priority=100, secondary=True)
    row = gateway.get("vpnvserver_binding", "gw").body["vpnvserver_binding"][0]
    assert row["name"] == "gw"
    assert [b["policy"] for b in row[LDAP_BINDING]] == ["ldappol"]
    assert [b["policy"] for b in row[RADIUS_BINDING]] == ["radpol"]
    assert POLICY_BINDING not in row


def test_binding_get_all_needs_bulkbindings(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert gateway.get(LDAP_BINDING).body["errorcode"] == 1095
    assert len(gateway.get(LDAP_BINDING, query="bulkbindings=yes").body[LDAP_BINDING]) == 1


def test_delete_vserver_removes_its_bindings(gateway: Client) -> None:
    bind(gateway, LDAP_BINDING, name="gw", policy="ldappol", priority=100)
    assert gateway.config("DELETE", "vpnvserver", "gw").status == 200
    assert gateway.config("DELETE", "authenticationldappolicy", "ldappol").status == 200


def test_load_balancing_chain(client: Client) -> None:
    assert client.add("lbvserver", name="lb-radius", servicetype="RADIUS", ipv46="127.0.0.31", port=1812).status == 201
    assert client.add("servicegroup", servicegroupname="sg-radius", servicetype="RADIUS").status == 201
    member = "servicegroup_servicegroupmember_binding"
    assert bind(client, member, servicegroupname="sg-radius", ip="127.0.0.11", port=1812).status == 201
    assert bind(client, member, servicegroupname="sg-radius", ip="127.0.0.11", port=1812).body["errorcode"] == 273
    assert client.add("lbmonitor", monitorname="mon-radius", type="RADIUS", radkey="k", username="probe", password="pw").status == 201
    assert bind(client, "servicegroup_lbmonitor_binding", servicegroupname="sg-radius", monitor_name="mon-radius").status == 201
    assert bind(client, "servicegroup_lbmonitor_binding", servicegroupname="sg-radius", monitor_name="mon-radius").body["errorcode"] == 2133
    assert bind(client, "lbvserver_servicegroup_binding", name="lb-radius", servicegroupname="sg-radius").status == 201

    rows = client.get(member, "sg-radius").body[member]
    assert rows[0]["servername"] == "127.0.0.11"
    assert rows[0]["weight"] == "1"
    lb = client.get("lbvserver", "lb-radius").body["lbvserver"][0]
    assert lb["curstate"] == "UP"
    assert lb["clttimeout"] == "120"


def test_monitor_bound_cannot_be_deleted_2131(client: Client) -> None:
    client.add("servicegroup", servicegroupname="sg", servicetype="RADIUS")
    client.add("lbmonitor", monitorname="m", type="RADIUS")
    bind(client, "servicegroup_lbmonitor_binding", servicegroupname="sg", monitor_name="m")
    assert client.config("DELETE", "lbmonitor", "m", query="args=type:RADIUS").body["errorcode"] == 2131
    assert client.config("DELETE", "servicegroup_lbmonitor_binding", "sg", query="args=monitor_name:m").status == 200
    assert client.config("DELETE", "servicegroup_lbmonitor_binding", "sg", query="args=monitor_name:m").body["errorcode"] == 2170


def test_member_unbind_needs_port(client: Client) -> None:
    client.add("servicegroup", servicegroupname="sg", servicetype="RADIUS")
    bind(client, "servicegroup_servicegroupmember_binding", servicegroupname="sg", ip="127.0.0.11", port=1812)
    reply = client.config("DELETE", "servicegroup_servicegroupmember_binding", "sg", query="args=ip:127.0.0.11")
    assert reply.body["errorcode"] == 1095
    reply = client.config("DELETE", "servicegroup_servicegroupmember_binding", "sg", query="args=ip:127.0.0.11,port:1812")
    assert reply.status == 200
