"""Object verbs: add, get, update, unset, delete and their NITRO error codes."""

from __future__ import annotations

from conftest import Client


def test_add_returns_201_done(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    assert reply.status == 201
    assert reply.body == {"errorcode": 0, "message": "Done", "severity": "NONE"}


def test_add_duplicate_returns_409_errorcode_273(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    assert reply.status == 409
    assert reply.body == {"errorcode": 273, "message": "Resource already exists [name, a1]", "severity": "ERROR"}


def test_add_missing_required_returns_400_errorcode_1095(client: Client) -> None:
    reply = client.add("authenticationradiusaction", name="r1", serverip="127.0.0.2")
    assert reply.status == 400
    assert reply.body["errorcode"] == 1095
    assert reply.body["message"] == "Required argument missing [radkey]"


def test_add_unknown_attribute_returns_400_errorcode_278(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", colour="blue")
    assert reply.status == 400
    assert reply.body["message"] == "Invalid argument [colour]"


def test_add_readonly_attribute_returns_278(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", success="0")
    assert reply.body["errorcode"] == 278


def test_add_invalid_enum_returns_400_errorcode_1097(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", sectype="STARTTLS")
    assert reply.status == 400
    assert reply.body["errorcode"] == 1097


def test_add_enum_in_other_case_is_rejected(client: Client) -> None:
    assert client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", sectype="tls").body["errorcode"] == 1097


def test_add_below_minimum_returns_1109(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", authtimeout=0)
    assert reply.body["errorcode"] == 1109


def test_add_serverip_and_servername_returns_400_errorcode_1092(client: Client) -> None:
    reply = client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", servername="dc.example")
    assert reply.status == 400
    assert reply.body["errorcode"] == 1092


def test_get_fills_defaults_and_returns_double_as_string(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    row = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]
    assert row["authtimeout"] == "3"
    assert row["serverport"] == 389
    assert row["sectype"] == "PLAINTEXT"
    assert row["maxnestinglevel"] == "2"


def test_get_returns_readonly_fields(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    row = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]
    assert row["success"] == "0"
    assert row["failure"] == "0"


def test_get_omits_unset_attributes_without_default(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    row = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]
    assert "ldapbase" not in row
    assert "servername" not in row


def test_get_success_shape_is_list_under_resource(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    body = client.get("authenticationldapaction", "a1").body
    assert (body["errorcode"], body["message"], body["severity"]) == (0, "Done", "NONE")
    assert isinstance(body["authenticationldapaction"], list)


def test_get_secret_returns_hash_not_value(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", ldapbinddnpassword="s3cret")
    first = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]["ldapbinddnpassword"]
    second = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]["ldapbinddnpassword"]
    assert first != "s3cret"
    assert first == second


def test_secret_hash_changes_after_update(client: Client) -> None:
    client.add("authenticationradiusaction", name="r1", serverip="127.0.0.2", radkey="one")
    before = client.get("authenticationradiusaction", "r1").body["authenticationradiusaction"][0]["radkey"]
    client.config("PUT", "authenticationradiusaction", body={"authenticationradiusaction": {"name": "r1", "radkey": "one"}})
    after = client.get("authenticationradiusaction", "r1").body["authenticationradiusaction"][0]["radkey"]
    assert before != after


def test_get_missing_returns_404_errorcode_258(client: Client) -> None:
    reply = client.get("authenticationldapaction", "nope")
    assert reply.status == 404
    assert reply.body == {"errorcode": 258, "message": "No such resource [name, nope]", "severity": "ERROR"}


def test_get_all_empty_returns_200_without_key(client: Client) -> None:
    body = client.get("authenticationldapaction").body
    assert body["errorcode"] == 0
    assert "authenticationldapaction" not in body


def test_name_in_path_is_double_url_decoded(client: Client) -> None:
    client.add("authenticationpolicy", name="mfa pol/1", rule="true", action="NO_AUTHN")
    row = client.get("authenticationpolicy", "mfa pol/1").body["authenticationpolicy"][0]
    assert row["name"] == "mfa pol/1"


def test_update_with_key_in_body_returns_200(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    reply = client.config("PUT", "authenticationldapaction", body={"authenticationldapaction": {"name": "a1", "authtimeout": 10}})
    assert reply.status == 200
    assert client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]["authtimeout"] == "10"


def test_update_with_name_in_path_returns_200(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    reply = client.config("PUT", "authenticationldapaction", "a1", body={"authenticationldapaction": {"ldapbase": "dc=corp"}})
    assert reply.status == 200
    assert client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]["ldapbase"] == "dc=corp"


def test_update_switching_serverip_to_servername_drops_serverip(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.config("PUT", "authenticationldapaction", "a1", body={"authenticationldapaction": {"servername": "dc.corp"}})
    row = client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]
    assert "serverip" not in row
    assert row["servername"] == "dc.corp"


def test_update_missing_object_returns_404_errorcode_258(client: Client) -> None:
    reply = client.config("PUT", "authenticationldapaction", body={"authenticationldapaction": {"name": "nope", "authtimeout": 5}})
    assert reply.status == 404
    assert reply.body["errorcode"] == 258


def test_update_immutable_attribute_returns_278(client: Client) -> None:
    client.add("lbvserver", name="lb1", servicetype="RADIUS")
    reply = client.config("PUT", "lbvserver", body={"lbvserver": {"name": "lb1", "servicetype": "UDP"}})
    assert reply.body["errorcode"] == 278


def test_unset_restores_default(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2", authtimeout=9)
    reply = client.config("POST", "authenticationldapaction", body={"authenticationldapaction": {"name": "a1", "authtimeout": True}}, query="action=unset")
    assert reply.status == 200
    assert client.get("authenticationldapaction", "a1").body["authenticationldapaction"][0]["authtimeout"] == "3"


def test_delete_returns_200(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    assert client.config("DELETE", "authenticationldapaction", "a1").status == 200
    assert client.get("authenticationldapaction", "a1").status == 404


def test_delete_missing_returns_404_errorcode_258(client: Client) -> None:
    reply = client.config("DELETE", "authenticationldapaction", "nope")
    assert reply.status == 404
    assert reply.body["errorcode"] == 258


def test_delete_action_used_by_policy_is_rejected(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.add("authenticationldappolicy", name="p1", rule="ns_true", reqaction="a1")
    reply = client.config("DELETE", "authenticationldapaction", "a1")
    assert reply.status == 599
    assert reply.body["errorcode"] == 315


def test_policy_with_missing_action_is_rejected(client: Client) -> None:
    reply = client.add("authenticationldappolicy", name="p1", rule="ns_true", reqaction="ghost")
    assert reply.body["errorcode"] == 258


def test_advanced_policy_accepts_builtin_actions(client: Client) -> None:
    assert client.add("authenticationpolicy", name="p1", rule="true", action="NO_AUTHN").status == 201


def test_query_filter_attrs_and_count(client: Client) -> None:
    client.add("authenticationldapaction", name="a1", serverip="127.0.0.2")
    client.add("authenticationldapaction", name="a2", serverip="127.0.0.3")
    filtered = client.get("authenticationldapaction", query="filter=serverip:127.0.0.3").body["authenticationldapaction"]
    assert [row["name"] for row in filtered] == ["a2"]
    attrs = client.get("authenticationldapaction", "a1", query="attrs=name,authtimeout").body["authenticationldapaction"]
    assert attrs == [{"name": "a1", "authtimeout": "3"}]
    count = client.get("authenticationldapaction", query="count=yes").body["authenticationldapaction"]
    assert count == [{"__count": 2}]


def test_pagination_with_semicolon(client: Client) -> None:
    for index in range(3):
        client.add("authenticationldapaction", name=f"a{index}", serverip="127.0.0.2")
    page = client.get("authenticationldapaction", query="pagesize=2;pageno=2").body["authenticationldapaction"]
    assert [row["name"] for row in page] == ["a2"]


def test_nsversion_returns_version_dict(client: Client) -> None:
    body = client.get("nsversion").body
    assert body["nsversion"]["version"].startswith("NetScaler NS14.1: Build 25.53.nc")
    assert body["nsversion"]["mode"] == "1"


def test_nsfeature_enable_lists_feature(client: Client) -> None:
    assert "SSLVPN" not in client.get("nsfeature").body["nsfeature"]["feature"]
    reply = client.config("POST", "nsfeature", body={"nsfeature": {"feature": ["SSLVPN", "AAA"]}}, query="action=enable")
    assert reply.status == 200
    feature = client.get("nsfeature").body["nsfeature"]
    assert {"SSLVPN", "AAA", "LB"} <= set(feature["feature"])
    assert feature["sslvpn"] is True


def test_save_config_returns_200_and_counts(client: Client) -> None:
    reply = client.config("POST", "nsconfig", body={"nsconfig": {}}, query="action=save")
    assert reply.status == 200
    assert client.request("GET", "/_sim/stats", auth=False).body["saves"] == 1


def test_warning_yes_reports_1067_when_feature_disabled(client: Client) -> None:
    reply = client.config("POST", "vpnvserver", body={"vpnvserver": {"name": "gw", "servicetype": "SSL"}}, query="warning=yes")
    assert reply.status == 209
    assert reply.header("X-NITRO-WARNING").startswith("1067")


def test_lbmonitor_ldap_fields_and_hashed_password(client: Client) -> None:
    reply = client.add("lbmonitor", monitorname="mon-ldap", type="LDAP", basedn="dc=corp", binddn="cn=svc", password="pw", filter="cn=*", attribute="cn")
    assert reply.status == 201
    row = client.get("lbmonitor", "mon-ldap").body["lbmonitor"][0]
    assert row["basedn"] == "dc=corp"
    assert row["password"] != "pw"
    assert row["interval"] == 5
    assert row["units3"] == "SEC"


def test_lbmonitor_interval_60_sec_reads_back_as_1_min(client: Client) -> None:
    client.add("lbmonitor", monitorname="mon-rad", type="RADIUS", radkey="k", interval=60, units3="SEC")
    row = client.get("lbmonitor", "mon-rad").body["lbmonitor"][0]
    assert (row["interval"], row["units3"]) == (1, "MIN")


def test_lbmonitor_interval_not_above_timeout_returns_2128(client: Client) -> None:
    reply = client.add("lbmonitor", monitorname="m", type="RADIUS", interval=2, resptimeout=2)
    assert reply.body["errorcode"] == 2128


def test_lbmonitor_delete_needs_type_arg(client: Client) -> None:
    client.add("lbmonitor", monitorname="m", type="RADIUS")
    assert client.config("DELETE", "lbmonitor", "m").body["errorcode"] == 1095
    assert client.config("DELETE", "lbmonitor", "m", query="args=type:LDAP").body["errorcode"] == 2155
    assert client.config("DELETE", "lbmonitor", "m", query="args=type:RADIUS").status == 200


def test_lbmonitor_update_needs_type(client: Client) -> None:
    client.add("lbmonitor", monitorname="m", type="RADIUS")
    reply = client.config("PUT", "lbmonitor", body={"lbmonitor": {"monitorname": "m", "retries": 5}})
    assert reply.body["errorcode"] == 1095


def test_non_object_json_returns_400_errorcode_1233(client: Client) -> None:
    reply = client.request("POST", "/nitro/v1/config/lbvserver", "not an object")
    assert reply.status == 400
    assert reply.body["errorcode"] == 1233


def test_unsupported_operation_returns_errorcode_1240(client: Client) -> None:
    reply = client.config("PUT", "nsversion", body={"nsversion": {}})
    assert reply.body["errorcode"] == 1240
