"""The Twilio and webhook providers and the callback listener, against local HTTPS servers on 127.0.0.1.

The fake Twilio and the fake gateway check the exact requests (path, auth,
signature, parameters) and answer like the real services, including their
failures; they then call FactorGate's callback listener back, signed as the
real services sign.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from factorgate.factors.callbacks import CallbackServer
from factorgate.factors.outcomes import Outcome
from factorgate.factors.outofband import MethodSettings, OutOfBand
from factorgate.factors.providers.base import AttemptRegistry
from factorgate.factors.providers.signing import ReplayGuard, twilio_signature, webhook_signature
from factorgate.factors.providers.twilio import TwilioProvider
from factorgate.factors.providers.webhook import WebhookProvider
from factorgate.factors.settings import TwilioConfig, WebhookConfig

sys.path.insert(0, str(Path(__file__).parent))
from support.node import free_port  # noqa: E402
from support.tls import make_server_certificate  # noqa: E402

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "a7c3f0e1b2d4968574a1b2c3d4e5f607"
FROM_NUMBER = "+15005550006"
SHARED_KEY = b"webhook-shared-key-0123456789abcdef"


# Known answer


def test_twilio_signature_published_example():
    # The example of Twilio's webhook security guide and its libraries' tests.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    signature = twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params.items())
    assert signature == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_webhook_signature_covers_timestamp_and_body():
    first = webhook_signature(SHARED_KEY, "1700000000", b'{"id":"a"}')
    assert first.startswith("v1=")
    assert first != webhook_signature(SHARED_KEY, "1700000001", b'{"id":"a"}')
    assert first != webhook_signature(SHARED_KEY, "1700000000", b'{"id":"b"}')


def test_replay_guard_refuses_second_use():
    guard = ReplayGuard(ttl=10, clock=lambda: 0.0)
    assert guard.first_use("sig")
    assert not guard.first_use("sig")


def test_replay_guard_forgets_after_ttl():
    now = [0.0]
    guard = ReplayGuard(ttl=10, clock=lambda: now[0])
    guard.first_use("sig")
    now[0] = 11.0
    assert guard.first_use("sig")


# Fixtures


@dataclass
class Tls:
    server: ssl.SSLContext
    ca_file: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    directory = tmp_path_factory.mktemp("tls")
    ca_file, cert, key = make_server_certificate(directory, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return Tls(context, ca_file)


async def start_app(app: web.Application, tls: Tls) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls.server).start()
    return runner, port


@pytest.fixture
async def callbacks(tls):
    registry = AttemptRegistry()
    port = free_port()
    server = CallbackServer(registry, f"https://127.0.0.1:{port}/fg", twilio_token=AUTH_TOKEN,
                            webhook_key=SHARED_KEY, webhook_window=300)
    await server.start("127.0.0.1", port, tls.server)
    yield server, registry, port
    await server.close()


def client_session(tls: Tls) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(tls.ca_file))))


def callback_target(public: str, port: int) -> str:
    """Map the public URL (behind a reverse proxy that strips /fg) to the listener's own address."""
    path = urllib.parse.urlsplit(public).path.removeprefix("/fg")
    return f"https://127.0.0.1:{port}{path}"


# A fake Twilio REST API


@dataclass
class FakeTwilio:
    """Twilio's REST API as far as FactorGate uses it, with scripted failures and callers."""

    tls: Tls
    failures: list[tuple[int, dict]] = field(default_factory=list)   # answers given before the normal one
    caller_keys: str | None = "#"     # what the callee presses; None: the call ends with CallStatus
    call_status: str = "completed"
    requests: list[dict] = field(default_factory=list)
    callback_port: int = 0
    tasks: set = field(default_factory=set)   # strong references, so the event loop cannot drop a task

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/{resource}", self.create)
        return app

    async def create(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({"path": request.path, "auth": request.headers.get("Authorization"), "form": form})
        expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected_auth:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if self.failures:
            status, body = self.failures.pop(0)
            return web.json_response(body, status=status)
        resource = request.match_info["resource"]
        prefix = "CA" if resource == "Calls.json" else "SM"
        sid = prefix + "f" * 32
        if resource == "Calls.json":
            self.tasks.add(asyncio.get_running_loop().create_task(self.play_call(form, sid)))
        return web.json_response({"sid": sid, "status": "queued", "to": form.get("To")}, status=201)

    async def play_call(self, form: dict, sid: str) -> None:
        """Act as Twilio during the call: post the gather result, then the final status, both signed."""
        try:
            await self._play_call(form, sid)
        except Exception as error:  # noqa: BLE001 - surface errors of the background task in the test output
            print("fake Twilio failed:", repr(error))
            raise

    async def _play_call(self, form: dict, sid: str) -> None:
        await asyncio.sleep(0.05)
        action = form["Twiml"].split('action="')[1].split('"')[0]
        async with client_session(self.tls) as session:
            if self.caller_keys is not None:
                finished = "#" if self.caller_keys.endswith("#") else ""
                params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "Digits": self.caller_keys.rstrip("#"),
                          "FinishedOnKey": finished, "CallStatus": "in-progress"}
                await post_signed(session, action, params, self.callback_port)
            status = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "CallStatus": self.call_status, "CallDuration": "7"}
            await post_signed(session, form["StatusCallback"], status, self.callback_port)


async def post_signed(session: aiohttp.ClientSession, public_url: str, params: dict, port: int,
                      token: str = AUTH_TOKEN) -> int:
    signature = twilio_signature(token, public_url, params.items())
    async with session.post(callback_target(public_url, port), data=params,
                            headers={"X-Twilio-Signature": signature}) as response:
        return response.status


@pytest.fixture
async def twilio(tls, callbacks):
    server, registry, port = callbacks
    fake = FakeTwilio(tls, callback_port=port)
    runner, api_port = await start_app(fake.application(), tls)
    settings = TwilioConfig(account_sid=ACCOUNT_SID, from_number=FROM_NUMBER, api_url=f"https://127.0.0.1:{api_port}",
                            ca_file=tls.ca_file, request_timeout=2, retries=2, gather_seconds=5)
    provider = TwilioProvider(settings, AUTH_TOKEN, f"https://127.0.0.1:{port}/fg")
    methods = {"voice": MethodSettings("twilio", 5), "sms": MethodSettings("twilio", 5)}
    outofband = OutOfBand({"voice": provider, "sms": provider}, methods, registry)
    yield fake, outofband
    await provider.close()
    await runner.cleanup()


# Twilio provider


async def test_twilio_call_request_exact(twilio):
    fake, outofband = twilio
    await outofband.deliver("voice", "guid-1", "carol", "+15550102")
    request = fake.requests[0]
    form = request["form"]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert form["To"] == "+15550102"
    assert form["From"] == FROM_NUMBER
    assert form["Timeout"] == "30"
    assert form["StatusCallbackEvent"] == "completed"
    assert '<Gather input="dtmf" finishOnKey="#" timeout="5"' in form["Twiml"]
    assert form["StatusCallback"].startswith("https://127.0.0.1:")


@pytest.mark.parametrize(
    ("keys", "status", "outcome"),
    [
        ("#", "completed", Outcome.SUCCESS_NO_PIN),
        ("0#", "completed", Outcome.FRAUD_REPORTED),
        ("", "completed", Outcome.SUCCESS_NO_PIN_BUT_TIMEOUT),
        ("1234", "completed", Outcome.SUCCESS_WITH_PIN_BUT_TIMEOUT),
        (None, "completed", Outcome.FAILED_USER_HUNGUP_ON_US),
        (None, "no-answer", Outcome.FAILED_NO_ANSWER),
        (None, "busy", Outcome.FAILED_PHONE_BUSY),
        (None, "failed", Outcome.FAILED_CALL_FAILED),
    ],
)
async def test_twilio_call_outcome(twilio, keys, status, outcome):
    fake, outofband = twilio
    fake.caller_keys = keys
    fake.call_status = status
    assert await outofband.deliver("voice", "guid-1", "carol", "+15550102") is outcome


async def test_twilio_sms_request_exact(twilio):
    fake, outofband = twilio
    outcome = await outofband.deliver("sms", "guid-1", "carol", "+15550102", "Your sign-in code is 123456.")
    form = fake.requests[0]["form"]
    assert outcome is Outcome.SUCCESS_SMS_SENT
    assert fake.requests[0]["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert form["Body"] == "Your sign-in code is 123456."
    assert form["To"] == "+15550102"


async def test_twilio_invalid_number_rejected_without_retry(twilio):
    fake, outofband = twilio
    fake.failures = [(400, {"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.",
                            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})]
    outcome = await outofband.deliver("voice", "guid-1", "carol", "+1555")
    assert outcome is Outcome.FAILED_PROVIDER_REJECTED
    assert len(fake.requests) == 1


async def test_twilio_server_errors_retried_then_unreachable(twilio):
    fake, outofband = twilio
    fake.failures = [(503, {"message": "Service Unavailable"})] * 3
    outcome = await outofband.deliver("voice", "guid-1", "carol", "+15550102")
    assert outcome is Outcome.FAILED_PROVIDER_UNREACHABLE
    assert len(fake.requests) == 3


async def test_twilio_server_error_then_success(twilio):
    fake, outofband = twilio
    fake.failures = [(500, {"message": "Internal Server Error"})]
    outcome = await outofband.deliver("voice", "guid-1", "carol", "+15550102")
    assert outcome is Outcome.SUCCESS_NO_PIN
    assert len(fake.requests) == 2


async def test_twilio_wrong_token_rejected(tls, twilio):
    fake, outofband = twilio
    provider = outofband._providers["voice"]
    provider._auth = (ACCOUNT_SID, "wrong-token")
    outcome = await outofband.deliver("voice", "guid-1", "carol", "+15550102")
    assert outcome is Outcome.FAILED_PROVIDER_REJECTED


async def test_twilio_unreachable_api(tls, callbacks):
    server, registry, port = callbacks
    settings = TwilioConfig(account_sid=ACCOUNT_SID, from_number=FROM_NUMBER, api_url=f"https://127.0.0.1:{free_port()}",
                            ca_file=tls.ca_file, request_timeout=1, retries=1)
    provider = TwilioProvider(settings, AUTH_TOKEN, f"https://127.0.0.1:{port}/fg")
    outofband = OutOfBand({"voice": provider}, {"voice": MethodSettings("twilio", 5)}, registry)
    try:
        assert await outofband.deliver("voice", "g", "carol", "+15550102") is Outcome.FAILED_PROVIDER_UNREACHABLE
    finally:
        await provider.close()


# Callback listener


async def pending_voice(registry: AttemptRegistry):
    from factorgate.factors.providers.base import Attempt

    attempt = Attempt("attempt-1", "voice", "carol", "guid-1", "+15550102")
    registry.add(attempt)
    return attempt


async def test_callback_signed_gather_accepted(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    public = f"https://127.0.0.1:{port}/fg/twilio/gather/attempt-1"
    async with client_session(tls) as session:
        status = await post_signed(session, public, {"Digits": "", "FinishedOnKey": "#"}, port)
    assert status == 200
    assert attempt.events.get_nowait().digits == "#"


async def test_callback_unsigned_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    async with client_session(tls) as session:
        async with session.post(f"https://127.0.0.1:{port}/twilio/gather/attempt-1",
                                data={"Digits": "", "FinishedOnKey": "#"}) as response:
            status = response.status
    assert status == 403
    assert attempt.events.empty()


async def test_callback_wrong_token_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    public = f"https://127.0.0.1:{port}/fg/twilio/gather/attempt-1"
    async with client_session(tls) as session:
        status = await post_signed(session, public, {"Digits": "", "FinishedOnKey": "#"}, port, token="other")
    assert status == 403
    assert attempt.events.empty()


async def test_callback_tampered_params_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    public = f"https://127.0.0.1:{port}/fg/twilio/gather/attempt-1"
    signature = twilio_signature(AUTH_TOKEN, public, {"Digits": "0", "FinishedOnKey": "#"}.items())
    async with client_session(tls) as session:
        async with session.post(callback_target(public, port), data={"Digits": "", "FinishedOnKey": "#"},
                                headers={"X-Twilio-Signature": signature}) as response:
            status = response.status
    assert status == 403
    assert attempt.events.empty()


async def test_callback_replayed_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    public = f"https://127.0.0.1:{port}/fg/twilio/gather/attempt-1"
    async with client_session(tls) as session:
        first = await post_signed(session, public, {"Digits": "", "FinishedOnKey": "#"}, port)
        second = await post_signed(session, public, {"Digits": "", "FinishedOnKey": "#"}, port)
    assert first == 200
    assert second == 403
    assert attempt.events.qsize() == 1


# A fake webhook gateway


@dataclass
class FakeGateway:
    tls: Tls
    answer: str = "approved"
    callback_port: int = 0
    failures: list[int] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    polls: int = 0
    tasks: set = field(default_factory=set)

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/send", self.send)
        app.router.add_get("/send/{ref}", self.poll)
        return app

    def verify(self, request: web.Request, body: bytes) -> bool:
        timestamp = request.headers.get("X-FactorGate-Timestamp", "")
        expected = webhook_signature(SHARED_KEY, timestamp, body)
        return request.headers.get("X-FactorGate-Signature") == expected and abs(time.time() - int(timestamp)) < 300

    async def send(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.verify(request, body):
            return web.json_response({"error": "bad signature"}, status=401)
        document = json.loads(body)
        self.requests.append(document)
        if self.failures:
            return web.json_response({"error": "unavailable"}, status=self.failures.pop(0))
        if "callback_url" in document:
            self.tasks.add(asyncio.get_running_loop().create_task(self.call_back(document)))
        return web.json_response({"id": "gw-" + document["id"][:8]}, status=202)

    async def poll(self, request: web.Request) -> web.Response:
        if not self.verify(request, b""):
            return web.json_response({"error": "bad signature"}, status=401)
        self.polls += 1
        status = "pending" if self.polls < 2 else self.answer
        return web.json_response({"id": request.match_info["ref"], "status": status})

    async def call_back(self, document: dict) -> None:
        await asyncio.sleep(0.05)
        body = json.dumps({"id": document["id"], "event": self.answer}).encode()
        async with client_session(self.tls) as session:
            await post_webhook(session, document["callback_url"], body, self.callback_port)


async def post_webhook(session, public_url: str, body: bytes, port: int, timestamp: str | None = None,
                       signature: str | None = None) -> int:
    timestamp = timestamp or str(int(time.time()))
    headers = {"X-FactorGate-Timestamp": timestamp,
               "X-FactorGate-Signature": signature or webhook_signature(SHARED_KEY, timestamp, body),
               "Content-Type": "application/json"}
    async with session.post(callback_target(public_url, port), data=body, headers=headers) as response:
        return response.status


async def webhook_setup(tls, callbacks, answer_mode: str):
    server, registry, port = callbacks
    gateway = FakeGateway(tls, callback_port=port)
    runner, gateway_port = await start_app(gateway.application(), tls)
    settings = WebhookConfig(url=f"https://127.0.0.1:{gateway_port}/send", answer=answer_mode, poll_interval=0.05,
                             ca_file=tls.ca_file, request_timeout=2, retries=1)
    provider = WebhookProvider(settings, SHARED_KEY, f"https://127.0.0.1:{port}/fg", {"push": 3, "sms": 3})
    methods = {"push": MethodSettings("webhook", 3), "sms": MethodSettings("webhook", 3)}
    return gateway, runner, provider, OutOfBand({"push": provider, "sms": provider}, methods, registry)


@pytest.mark.parametrize(("answer", "outcome"), [
    ("approved", Outcome.SUCCESS_PUSH_APPROVED),
    ("denied", Outcome.FAILED_PUSH_DENIED),
    ("reported", Outcome.FRAUD_REPORTED),
    ("timed_out", Outcome.FAILED_PUSH_TIMEOUT),
])
async def test_webhook_push_callback_outcome(tls, callbacks, answer, outcome):
    gateway, runner, provider, outofband = await webhook_setup(tls, callbacks, "callback")
    gateway.answer = answer
    try:
        assert await outofband.deliver("push", "guid-1", "carol", "+15550102") is outcome
    finally:
        await provider.close()
        await runner.cleanup()


async def test_webhook_request_exact(tls, callbacks):
    gateway, runner, provider, outofband = await webhook_setup(tls, callbacks, "callback")
    try:
        await outofband.deliver("sms", "guid-1", "carol", "+15550102", "Your code is 123456")
    finally:
        await provider.close()
        await runner.cleanup()
    document = gateway.requests[0]
    assert document["method"] == "sms"
    assert document["to"] == "+15550102"
    assert document["message"] == "Your code is 123456"
    assert document["expires_in"] == 3
    assert document["callback_url"].endswith("/fg/webhook/" + document["id"])


async def test_webhook_poll_mode(tls, callbacks):
    gateway, runner, provider, outofband = await webhook_setup(tls, callbacks, "poll")
    try:
        outcome = await outofband.deliver("push", "guid-1", "carol", "+15550102")
    finally:
        await provider.close()
        await runner.cleanup()
    assert outcome is Outcome.SUCCESS_PUSH_APPROVED
    assert gateway.polls == 2
    assert "callback_url" not in gateway.requests[0]


async def test_webhook_gateway_down_unreachable(tls, callbacks):
    gateway, runner, provider, outofband = await webhook_setup(tls, callbacks, "callback")
    gateway.failures = [503, 503]
    try:
        outcome = await outofband.deliver("push", "guid-1", "carol", "+15550102")
    finally:
        await provider.close()
        await runner.cleanup()
    assert outcome is Outcome.FAILED_PROVIDER_UNREACHABLE
    assert len(gateway.requests) == 2


async def test_webhook_gateway_refusal_rejected(tls, callbacks):
    gateway, runner, provider, outofband = await webhook_setup(tls, callbacks, "callback")
    gateway.failures = [422]
    try:
        outcome = await outofband.deliver("push", "guid-1", "carol", "+15550102")
    finally:
        await provider.close()
        await runner.cleanup()
    assert outcome is Outcome.FAILED_PROVIDER_REJECTED


async def test_webhook_callback_stale_timestamp_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    body = json.dumps({"id": "attempt-1", "event": "approved"}).encode()
    async with client_session(tls) as session:
        status = await post_webhook(session, f"https://127.0.0.1:{port}/fg/webhook/attempt-1", body, port,
                                    timestamp=str(int(time.time()) - 600))
    assert status == 403
    assert attempt.events.empty()


async def test_webhook_callback_unsigned_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    body = json.dumps({"id": "attempt-1", "event": "approved"}).encode()
    async with client_session(tls) as session:
        async with session.post(f"https://127.0.0.1:{port}/webhook/attempt-1", data=body) as response:
            status = response.status
    assert status == 403
    assert attempt.events.empty()


async def test_webhook_callback_replayed_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    body = json.dumps({"id": "attempt-1", "event": "approved"}).encode()
    timestamp = str(int(time.time()))
    public = f"https://127.0.0.1:{port}/fg/webhook/attempt-1"
    async with client_session(tls) as session:
        first = await post_webhook(session, public, body, port, timestamp=timestamp)
        second = await post_webhook(session, public, body, port, timestamp=timestamp)
    assert first == 204
    assert second == 403
    assert attempt.events.qsize() == 1


async def test_webhook_callback_other_attempt_id_rejected(tls, callbacks):
    server, registry, port = callbacks
    attempt = await pending_voice(registry)
    body = json.dumps({"id": "attempt-2", "event": "approved"}).encode()
    async with client_session(tls) as session:
        status = await post_webhook(session, f"https://127.0.0.1:{port}/fg/webhook/attempt-1", body, port)
    assert status == 400
    assert attempt.events.empty()
