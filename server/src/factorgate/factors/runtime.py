"""Build the second-factor services of a node from its configuration, and run the callback listener."""

from __future__ import annotations

import logging
import ssl
import time

from factorgate.auth.second_factor import FactorPolicy, SecondFactors
from factorgate.config import Config, strip_line_break
from factorgate.factors.callbacks import CallbackServer
from factorgate.factors.fraud import AlertMailSettings, FraudAlerter
from factorgate.factors.hotp_verifier import HotpVerifier
from factorgate.factors.outofband import MethodSettings, OutOfBand
from factorgate.factors.providers.base import AttemptRegistry, Provider
from factorgate.factors.providers.simulator import SimulatorProvider, SimulatorSettings
from factorgate.factors.totp_verifier import TotpVerifier

log = logging.getLogger("factorgate.factors")

OUT_OF_BAND = ("voice", "sms", "push")


class FactorRuntime:
    """The node's `SecondFactors`, its providers and the callback listener."""

    def __init__(self, config: Config, store) -> None:
        factors = config.factors
        self.config = config
        self.registry = AttemptRegistry()
        self.providers: dict[str, Provider] = build_providers(config)
        methods = {
            "voice": MethodSettings(factors.voice.provider, factors.voice.timeout),
            "sms": MethodSettings(factors.sms.provider, factors.sms.timeout),
            "push": MethodSettings(factors.push.provider, factors.push.timeout),
        }
        by_method = {method: self.providers[methods[method].provider] for method in OUT_OF_BAND}
        self.outofband = OutOfBand(by_method, methods, self.registry)
        self.alerter = FraudAlerter(store, build_mail(config), config.node.name, factors.fraud.block_days * 86400, time.time)
        self.factors = SecondFactors(
            store,
            TotpVerifier(store, window=config.mfa.totp.window),
            HotpVerifier(store, window=factors.hotp_window),
            self.outofband,
            self.alerter,
            build_policy(config),
        )
        self.callbacks: CallbackServer | None = None

    @property
    def simulator(self) -> SimulatorProvider:
        return self.providers["simulator"]   # type: ignore[return-value]

    async def start(self) -> None:
        callbacks = self.config.factors.callbacks
        if not callbacks.enabled:
            return
        twilio = self.providers.get("twilio")
        webhook = self.providers.get("webhook")
        self.callbacks = CallbackServer(
            self.registry,
            callbacks.public_url,
            twilio_token=twilio.auth_token if twilio is not None else None,
            webhook_key=webhook.shared_key if webhook is not None else None,
            webhook_window=self.config.factors.webhook.replay_window if self.config.factors.webhook else 300.0,
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(callbacks.certificate), str(callbacks.private_key))
        await self.callbacks.start(callbacks.address, callbacks.port, context)

    async def close(self) -> None:
        await self.alerter.drain()
        if self.callbacks is not None:
            await self.callbacks.close()
        for provider in self.providers.values():
            await provider.close()


def build_providers(config: Config) -> dict[str, Provider]:
    factors = config.factors
    simulator = factors.simulator
    providers: dict[str, Provider] = {
        "simulator": SimulatorProvider(SimulatorSettings(
            default_answer=simulator.default_answer,
            answers=dict(simulator.answers),
            script_file=simulator.script_file,
            outbox_file=simulator.outbox_file,
        )),
    }
    public_url = factors.callbacks.public_url
    if factors.twilio is not None:
        from factorgate.factors.providers.twilio import TwilioProvider

        token = strip_line_break(factors.twilio.auth_token_file.read_bytes()).decode("utf-8")
        providers["twilio"] = TwilioProvider(factors.twilio, token, public_url)
    if factors.webhook is not None:
        from factorgate.factors.providers.webhook import WebhookProvider

        key = strip_line_break(factors.webhook.shared_key_file.read_bytes())
        expires = {"voice": factors.voice.timeout, "sms": factors.sms.timeout, "push": factors.push.timeout}
        providers["webhook"] = WebhookProvider(factors.webhook, key, public_url, expires)
    return providers


def build_policy(config: Config) -> FactorPolicy:
    factors = config.factors
    return FactorPolicy(
        default_method=config.import_.default_method,
        code_delimiter=config.mfa.code_delimiter.encode("utf-8"),
        max_failures=factors.lockout.max_failures,
        lock_seconds=factors.lockout.lock_seconds,
        prompt_limit=factors.prompts.limit,
        prompt_window=factors.prompts.window,
        sms_digits=factors.sms.digits,
        sms_lifetime=factors.sms.lifetime,
        sms_text=factors.sms.text,
        safe_ldap_clients=factors.fail_mode.safe_ldap_clients,
        safe_radius_clients=factors.fail_mode.safe_radius_clients,
    )


def build_mail(config: Config) -> AlertMailSettings:
    email = config.factors.fraud.email
    return AlertMailSettings(
        recipients=email.to,
        sender=email.sender,
        host=email.host,
        port=email.port,
        starttls=email.starttls,
        username=email.username,
        password_file=email.password_file,
        ca_file=email.ca_file,
        verify_certificate=email.verify_certificate,
    )
