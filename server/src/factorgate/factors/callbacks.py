"""FactorGate's HTTPS callback listener for Twilio and webhook answers (aiohttp, inside `factorgate serve`).

Routes, relative to `factors.callbacks.public_url`:

    POST /twilio/gather/{attempt}   keys pressed in a call (Twilio <Gather> action)
    POST /twilio/status/{attempt}   call or message status (Twilio StatusCallback)
    POST /webhook/{attempt}         an answer under the webhook contract

A request counts only when its signature is valid and has not been seen
before; anything else gets 403 and a warning in the log. Twilio signs the URL
it called, so the listener rebuilds that URL from `public_url` and the request
path: a reverse proxy in front may strip a path prefix but must keep the rest.
"""

from __future__ import annotations

import json
import logging
import ssl

from aiohttp import web

from factorgate.factors.providers.base import AttemptRegistry
from factorgate.factors.providers.signing import (
    ReplayGuard,
    signature_matches,
    timestamp_fresh,
    twilio_signature,
    webhook_signature,
)
from factorgate.factors.providers.twilio import GOODBYE_TWIML, gather_event, status_event
from factorgate.factors.providers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, contract_event

log = logging.getLogger("factorgate.factors")

MAX_CALLBACK_SIZE = 64 * 1024


class CallbackServer:
    """Receive provider callbacks and hand their events to the pending attempts.

    Args:
        registry: the pending attempts of this node.
        public_url: the base URL providers call, exactly as they see it.
        twilio_token: the Twilio auth token, or None when Twilio is not used.
        webhook_key: the webhook shared key, or None when the webhook provider is not used.
        webhook_window: seconds a webhook timestamp may differ from now.
    """

    def __init__(self, registry: AttemptRegistry, public_url: str, twilio_token: str | None = None,
                 webhook_key: bytes | None = None, webhook_window: float = 300.0) -> None:
        self._registry = registry
        self._public_url = public_url.rstrip("/")
        self._twilio_token = twilio_token
        self._webhook_key = webhook_key
        self._webhook_window = webhook_window
        self._replays = ReplayGuard()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_CALLBACK_SIZE)
        app.router.add_post("/twilio/gather/{attempt}", self.twilio_gather)
        app.router.add_post("/twilio/status/{attempt}", self.twilio_status)
        app.router.add_post("/webhook/{attempt}", self.webhook)
        return app

    async def start(self, address: str, port: int, tls: ssl.SSLContext | None) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, address, port, ssl_context=tls)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]   # the bound port, also when 0 was asked for
        log.info("callback listener on %s:%d (https), public URL %s", address, self.port, self._public_url)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # Twilio

    async def twilio_gather(self, request: web.Request) -> web.Response:
        params = await self._verified_twilio_params(request)
        attempt = self._registry.get(request.match_info["attempt"])
        if attempt is not None:
            attempt.report(gather_event(params))
        return web.Response(text=GOODBYE_TWIML, content_type="text/xml")

    async def twilio_status(self, request: web.Request) -> web.Response:
        params = await self._verified_twilio_params(request)
        attempt = self._registry.get(request.match_info["attempt"])
        event = status_event(params)
        if attempt is not None and event is not None:
            attempt.report(event)
        return web.Response(status=204)

    async def _verified_twilio_params(self, request: web.Request) -> dict[str, str]:
        if self._twilio_token is None:
            raise web.HTTPNotFound()
        form = await request.post()
        pairs = [(key, str(value)) for key, value in form.items()]
        signature = request.headers.get("X-Twilio-Signature")
        expected = twilio_signature(self._twilio_token, self._public_url + request.path_qs, pairs)
        if not signature_matches(expected, signature):
            log.warning("%s: Twilio callback %s with a missing or invalid signature; rejected", request.remote, request.path)
            raise web.HTTPForbidden(text="invalid signature")
        if not self._replays.first_use("twilio:" + signature):
            log.warning("%s: Twilio callback %s replayed; rejected", request.remote, request.path)
            raise web.HTTPForbidden(text="replayed request")
        return dict(pairs)

    # Webhook contract

    async def webhook(self, request: web.Request) -> web.Response:
        if self._webhook_key is None:
            raise web.HTTPNotFound()
        body = await request.read()
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not timestamp_fresh(timestamp, self._webhook_window):
            log.warning("%s: webhook callback with a missing or stale timestamp; rejected", request.remote)
            raise web.HTTPForbidden(text="missing or stale timestamp")
        if not signature_matches(webhook_signature(self._webhook_key, timestamp, body), signature):
            log.warning("%s: webhook callback with a missing or invalid signature; rejected", request.remote)
            raise web.HTTPForbidden(text="invalid signature")
        if not self._replays.first_use("webhook:" + signature):
            log.warning("%s: webhook callback replayed; rejected", request.remote)
            raise web.HTTPForbidden(text="replayed request")

        attempt_id = request.match_info["attempt"]
        try:
            document = json.loads(body)
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON") from None
        if not isinstance(document, dict) or document.get("id") != attempt_id:
            raise web.HTTPBadRequest(text="id does not match the URL")
        event = contract_event(document)
        if event is None:
            raise web.HTTPBadRequest(text="unknown event")
        attempt = self._registry.get(attempt_id)
        if attempt is None:
            raise web.HTTPNotFound(text="no pending attempt with this id")
        attempt.report(event)
        return web.Response(status=204)
