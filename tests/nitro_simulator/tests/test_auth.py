"""Authentication and sessions, as the NITRO reference documents them."""

from __future__ import annotations

from conftest import PASSWORD, USER, Client, FakeClock


def login(client: Client, **extra: object) -> str:
    reply = client.config("POST", "login", body={"login": {"username": USER, "password": PASSWORD, **extra}}, auth=False)
    assert reply.status == 201
    client.cookie = reply.body["sessionid"]
    client.use_header_auth = False
    return client.cookie


def test_login_returns_201_with_sessionid_and_cookie(client: Client) -> None:
    reply = client.config("POST", "login", body={"login": {"username": USER, "password": PASSWORD}}, auth=False)
    assert reply.status == 201
    assert reply.body["errorcode"] == 0
    assert reply.body["sessionid"].startswith("##")
    assert reply.header("Set-Cookie") == f"NITRO_AUTH_TOKEN={reply.body['sessionid']}; path=/nitro/v1"


def test_login_bad_password_returns_401_errorcode_354(client: Client) -> None:
    reply = client.config("POST", "login", body={"login": {"username": USER, "password": "wrong"}}, auth=False)
    assert reply.status == 401
    assert reply.body == {"errorcode": 354, "message": "Invalid username or password", "severity": "ERROR"}


def test_header_auth_accepts_each_request(client: Client) -> None:
    assert client.get("nsversion").status == 200


def test_header_auth_bad_password_returns_401_354(client: Client) -> None:
    reply = client.request(
        "GET", "/nitro/v1/config/nsversion", auth=False, headers={"X-NITRO-USER": USER, "X-NITRO-PASS": "nope"}
    )
    assert reply.status == 401
    assert reply.body["errorcode"] == 354


def test_no_credentials_returns_401_354(client: Client) -> None:
    reply = client.request("GET", "/nitro/v1/config/lbvserver", auth=False)
    assert reply.status == 401
    assert reply.body["errorcode"] == 354


def test_error_body_has_json_content_type(client: Client) -> None:
    reply = client.request("GET", "/nitro/v1/config/lbvserver", auth=False)
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.body["severity"] == "ERROR"


def test_cookie_auth_after_login(client: Client) -> None:
    login(client)
    assert client.get("nsversion").status == 200


def test_logout_returns_200_and_token_stops_working(client: Client) -> None:
    login(client)
    assert client.config("POST", "logout", body={"logout": {}}).status == 200
    reply = client.get("nsversion")
    assert reply.status == 401
    assert reply.body["errorcode"] == 444


def test_session_idle_timeout_default_1800s_returns_444(client: Client, clock: FakeClock) -> None:
    login(client)
    clock.advance(1799)
    assert client.get("nsversion").status == 200
    clock.advance(1801)
    reply = client.get("nsversion")
    assert reply.status == 401
    assert reply.body == {"errorcode": 444, "message": "Session expired or killed. Please login again", "severity": "ERROR"}


def test_session_timeout_from_login_payload(client: Client, clock: FakeClock) -> None:
    login(client, timeout=60)
    clock.advance(61)
    assert client.get("nsversion").status == 401


def test_unknown_session_token_returns_444(client: Client) -> None:
    client.cookie = "##DEADBEEF"
    client.use_header_auth = False
    assert client.get("nsversion").body["errorcode"] == 444


def test_control_expire_sessions_kills_tokens(client: Client) -> None:
    login(client)
    assert client.request("POST", "/_sim/fail", {"expire_sessions": True}, auth=False).status == 200
    assert client.get("nsversion").body["errorcode"] == 444
