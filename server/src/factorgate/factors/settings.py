"""The `factors:` configuration section: methods, providers, callbacks, fraud, lockout, fail mode.

`factorgate.config` calls `build_factors` while it checks the whole file, so
errors here read like every other configuration error:

    factors.lockout.max_failures: must be between 1 and 100 (got 500)
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factorgate.config import Checker, IPNetwork, pick
from factorgate.store.base import FACTOR_METHODS

PROVIDER_NAMES = ("simulator", "twilio", "webhook")
PROVIDERS_BY_METHOD = {"voice": ("simulator", "twilio", "webhook"), "sms": ("simulator", "twilio", "webhook"),
                       "push": ("simulator", "webhook")}
WEBHOOK_ANSWER_MODES = ("callback", "poll")
MAX_FAILURES_LIMIT = 100   # NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts


@dataclass(frozen=True)
class MethodConfig:
    provider: str = "simulator"
    timeout: float = 60.0


@dataclass(frozen=True)
class SmsConfig:
    provider: str = "simulator"
    timeout: float = 15.0
    digits: int = 6
    lifetime: float = 300.0
    text: str = "Your sign-in code is {code}. It expires in {minutes} minutes."


@dataclass(frozen=True)
class LockoutConfig:
    max_failures: int = 10
    lock_seconds: float = 900.0


@dataclass(frozen=True)
class PromptLimitConfig:
    limit: int = 5
    window: float = 300.0


@dataclass(frozen=True)
class EmailConfig:
    to: tuple[str, ...] = ()
    sender: str = "factorgate@localhost"
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    username: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    verify_certificate: bool = True


@dataclass(frozen=True)
class FraudConfig:
    block_days: float = 90.0
    email: EmailConfig = field(default_factory=EmailConfig)


@dataclass(frozen=True)
class FailModeConfig:
    safe_ldap_clients: tuple[IPNetwork, ...] = ()
    safe_radius_clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimulatorConfig:
    default_answer: str = "#"
    answers: tuple[tuple[str, str], ...] = ()
    script_file: Path | None = None
    outbox_file: Path | None = None


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str = ""
    auth_token_file: Path | None = None
    from_number: str = ""
    api_url: str = "https://api.twilio.com"
    ca_file: Path | None = None
    request_timeout: float = 10.0
    retries: int = 2
    ring_seconds: int = 30
    gather_seconds: int = 10
    voice_prompt: str = "This is your sign-in call. Press pound to sign in. To report fraud, press zero, then pound."


@dataclass(frozen=True)
class WebhookConfig:
    url: str = ""
    shared_key_file: Path | None = None
    answer: str = "callback"
    poll_interval: float = 2.0
    replay_window: float = 300.0
    ca_file: Path | None = None
    request_timeout: float = 10.0
    retries: int = 2


@dataclass(frozen=True)
class CallbacksConfig:
    address: str = ""                 # "" disables the listener
    port: int = 8443
    public_url: str = ""              # the HTTPS URL Twilio and webhooks call, as they see it
    certificate: Path | None = None
    private_key: Path | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)


@dataclass(frozen=True)
class FactorsConfig:
    voice: MethodConfig = field(default_factory=MethodConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    push: MethodConfig = field(default_factory=MethodConfig)
    hotp_window: int = 10
    lockout: LockoutConfig = field(default_factory=LockoutConfig)
    prompts: PromptLimitConfig = field(default_factory=PromptLimitConfig)
    fraud: FraudConfig = field(default_factory=FraudConfig)
    fail_mode: FailModeConfig = field(default_factory=FailModeConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    twilio: TwilioConfig | None = None
    webhook: WebhookConfig | None = None
    callbacks: CallbacksConfig = field(default_factory=CallbacksConfig)

    def warnings(self) -> list[str]:
        found = []
        for index, network in enumerate(self.fail_mode.safe_ldap_clients):
            found.append(f"factors.fail_mode.safe_ldap_clients[{index}]: LDAP logins from {network} pass with the"
                         " password alone while a call, SMS or push provider is unreachable")
        for index, name in enumerate(self.fail_mode.safe_radius_clients):
            found.append(f"factors.fail_mode.safe_radius_clients[{index}]: RADIUS logins from client {name} pass with"
                         " the password alone while a call, SMS or push provider is unreachable")
        if not self.fraud.email.verify_certificate:
            found.append("factors.fraud.email.verify_certificate: is false, so the alert email's server is not verified")
        return found


FACTORS_KEYS = ("voice", "sms", "push", "hotp", "lockout", "prompts", "fraud", "fail_mode", "providers", "callbacks")


def build_factors(checker: Checker, raw: Any) -> FactorsConfig:
    values = checker.section("factors", raw, FACTORS_KEYS)
    default = FactorsConfig()
    hotp_values = checker.section("factors.hotp", values.get("hotp"), ("window",))
    providers = checker.section("factors.providers", values.get("providers"), PROVIDER_NAMES)

    config = FactorsConfig(
        voice=build_method(checker, "voice", values.get("voice")),
        sms=build_sms(checker, values.get("sms")),
        push=build_method(checker, "push", values.get("push")),
        hotp_window=pick(hotp_values, "window", default.hotp_window,
                         lambda: checker.integer("factors.hotp.window", hotp_values["window"], 0, 100)),
        lockout=build_lockout(checker, values.get("lockout")),
        prompts=build_prompts(checker, values.get("prompts")),
        fraud=build_fraud(checker, values.get("fraud")),
        fail_mode=build_fail_mode(checker, values.get("fail_mode")),
        simulator=build_simulator(checker, providers.get("simulator")),
        twilio=build_twilio(checker, providers["twilio"]) if "twilio" in providers else None,
        webhook=build_webhook(checker, providers["webhook"]) if "webhook" in providers else None,
        callbacks=build_callbacks(checker, values.get("callbacks")),
    )
    check_providers_configured(checker, config)
    return config


def build_method(checker: Checker, method: str, raw: Any) -> MethodConfig:
    path = f"factors.{method}"
    values = checker.section(path, raw, ("provider", "timeout"))
    default = MethodConfig()
    return MethodConfig(
        provider=pick(values, "provider", default.provider,
                      lambda: checker.choice(f"{path}.provider", values["provider"], PROVIDERS_BY_METHOD[method])),
        timeout=pick(values, "timeout", default.timeout,
                     lambda: checker.number(f"{path}.timeout", values["timeout"], 1, 600, "seconds")),
    )


def build_sms(checker: Checker, raw: Any) -> SmsConfig:
    values = checker.section("factors.sms", raw, ("provider", "timeout", "digits", "lifetime", "text"))
    default = SmsConfig()

    def convert_text() -> str | None:
        text = checker.string("factors.sms.text", values["text"], allow_empty=False)
        if text is not None and "{code}" not in text:
            checker.error("factors.sms.text", "must contain {code}, where the code goes", text)
            return None
        return text

    return SmsConfig(
        provider=pick(values, "provider", default.provider,
                      lambda: checker.choice("factors.sms.provider", values["provider"], PROVIDERS_BY_METHOD["sms"])),
        timeout=pick(values, "timeout", default.timeout,
                     lambda: checker.number("factors.sms.timeout", values["timeout"], 1, 600, "seconds")),
        digits=pick(values, "digits", default.digits,
                    lambda: checker.integer("factors.sms.digits", values["digits"], 6, 10)),
        lifetime=pick(values, "lifetime", default.lifetime,
                      lambda: checker.number("factors.sms.lifetime", values["lifetime"], 30, 3600, "seconds")),
        text=pick(values, "text", default.text, convert_text),
    )


def build_lockout(checker: Checker, raw: Any) -> LockoutConfig:
    values = checker.section("factors.lockout", raw, ("max_failures", "lock_seconds"))
    default = LockoutConfig()
    return LockoutConfig(
        max_failures=pick(values, "max_failures", default.max_failures,
                          lambda: checker.integer("factors.lockout.max_failures", values["max_failures"], 1,
                                                  MAX_FAILURES_LIMIT)),
        lock_seconds=pick(values, "lock_seconds", default.lock_seconds,
                          lambda: checker.number("factors.lockout.lock_seconds", values["lock_seconds"], 0,
                                                 365 * 86400, "seconds")),
    )


def build_prompts(checker: Checker, raw: Any) -> PromptLimitConfig:
    values = checker.section("factors.prompts", raw, ("limit", "window"))
    default = PromptLimitConfig()
    return PromptLimitConfig(
        limit=pick(values, "limit", default.limit,
                   lambda: checker.integer("factors.prompts.limit", values["limit"], 1, 100000)),
        window=pick(values, "window", default.window,
                    lambda: checker.number("factors.prompts.window", values["window"], 1, 86400, "seconds")),
    )


def build_fraud(checker: Checker, raw: Any) -> FraudConfig:
    values = checker.section("factors.fraud", raw, ("block_days", "email"))
    default = FraudConfig()
    return FraudConfig(
        block_days=pick(values, "block_days", default.block_days,
                        lambda: checker.number("factors.fraud.block_days", values["block_days"], 0.001, 3650, "days")),
        email=build_email(checker, values.get("email")),
    )


EMAIL_KEYS = ("to", "from", "host", "port", "starttls", "username", "password_file", "ca_file", "verify_certificate")


def build_email(checker: Checker, raw: Any) -> EmailConfig:
    path = "factors.fraud.email"
    values = checker.section(path, raw, EMAIL_KEYS)
    default = EmailConfig()

    def convert_address(key_path: str, text: str) -> str | None:
        if "@" not in text or " " in text:
            checker.error(key_path, "must be an email address", text)
            return None
        return text

    return EmailConfig(
        to=pick(values, "to", default.to, lambda: checker.string_list(f"{path}.to", values["to"], convert_address)),
        sender=pick(values, "from", default.sender, lambda: checker.string(f"{path}.from", values["from"], allow_empty=False)),
        host=pick(values, "host", default.host, lambda: checker.string(f"{path}.host", values["host"], allow_empty=False)),
        port=pick(values, "port", default.port, lambda: checker.integer(f"{path}.port", values["port"], 1, 65535)),
        starttls=pick(values, "starttls", default.starttls, lambda: checker.boolean(f"{path}.starttls", values["starttls"])),
        username=pick(values, "username", default.username, lambda: checker.string(f"{path}.username", values["username"])),
        password_file=optional_file(checker, f"{path}.password_file", values, "password_file", private=True),
        ca_file=optional_file(checker, f"{path}.ca_file", values, "ca_file"),
        verify_certificate=pick(values, "verify_certificate", default.verify_certificate,
                                lambda: checker.boolean(f"{path}.verify_certificate", values["verify_certificate"])),
    )


def build_fail_mode(checker: Checker, raw: Any) -> FailModeConfig:
    values = checker.section("factors.fail_mode", raw, ("safe_ldap_clients", "safe_radius_clients"))
    items = checker.items("factors.fail_mode.safe_ldap_clients", values.get("safe_ldap_clients"))
    networks = (checker.network(f"factors.fail_mode.safe_ldap_clients[{i}]", item) for i, item in enumerate(items))
    return FailModeConfig(
        safe_ldap_clients=tuple(network for network in networks if network is not None),
        safe_radius_clients=checker.string_list("factors.fail_mode.safe_radius_clients", values.get("safe_radius_clients")),
    )


def build_simulator(checker: Checker, raw: Any) -> SimulatorConfig:
    path = "factors.providers.simulator"
    values = checker.section(path, raw, ("default_answer", "answers", "script_file", "outbox_file"))
    default = SimulatorConfig()
    answers = checker.section(f"{path}.answers", values.get("answers"), tuple(values.get("answers") or ()))
    pairs = []
    for user, answer in answers.items():
        text = checker.string(f"{path}.answers.{user}", answer, allow_empty=False)
        if text is not None:
            pairs.append((str(user).lower(), text))
    return SimulatorConfig(
        default_answer=pick(values, "default_answer", default.default_answer,
                            lambda: checker.string(f"{path}.default_answer", values["default_answer"], allow_empty=False)),
        answers=tuple(pairs),
        script_file=Path(values["script_file"]) if values.get("script_file") else None,
        outbox_file=Path(values["outbox_file"]) if values.get("outbox_file") else None,
    )


TWILIO_KEYS = ("account_sid", "auth_token_file", "from_number", "api_url", "ca_file", "request_timeout", "retries",
               "ring_seconds", "gather_seconds", "voice_prompt")


def build_twilio(checker: Checker, raw: Any) -> TwilioConfig:
    path = "factors.providers.twilio"
    values = checker.section(path, raw, TWILIO_KEYS)
    default = TwilioConfig()
    for key in ("account_sid", "auth_token_file", "from_number"):
        if key not in values:
            checker.error(f"{path}.{key}", "is missing", show_value=False)

    def convert_sid() -> str | None:
        sid = checker.string(f"{path}.account_sid", values["account_sid"], allow_empty=False)
        if sid is not None and not (sid.startswith("AC") and len(sid) == 34):
            checker.error(f"{path}.account_sid", "must be a Twilio Account SID: AC followed by 32 hexadecimal digits", sid)
            return None
        return sid

    return TwilioConfig(
        account_sid=pick(values, "account_sid", default.account_sid, convert_sid),
        auth_token_file=optional_file(checker, f"{path}.auth_token_file", values, "auth_token_file", private=True),
        from_number=pick(values, "from_number", default.from_number,
                         lambda: check_e164(checker, f"{path}.from_number", values["from_number"])),
        api_url=pick(values, "api_url", default.api_url, lambda: check_https_url(checker, f"{path}.api_url", values["api_url"])),
        ca_file=optional_file(checker, f"{path}.ca_file", values, "ca_file"),
        request_timeout=pick(values, "request_timeout", default.request_timeout,
                             lambda: checker.number(f"{path}.request_timeout", values["request_timeout"], 0.1, 120, "seconds")),
        retries=pick(values, "retries", default.retries, lambda: checker.integer(f"{path}.retries", values["retries"], 0, 10)),
        ring_seconds=pick(values, "ring_seconds", default.ring_seconds,
                          lambda: checker.integer(f"{path}.ring_seconds", values["ring_seconds"], 5, 600)),
        gather_seconds=pick(values, "gather_seconds", default.gather_seconds,
                            lambda: checker.integer(f"{path}.gather_seconds", values["gather_seconds"], 1, 60)),
        voice_prompt=pick(values, "voice_prompt", default.voice_prompt,
                          lambda: checker.string(f"{path}.voice_prompt", values["voice_prompt"], allow_empty=False)),
    )


WEBHOOK_KEYS = ("url", "shared_key_file", "answer", "poll_interval", "replay_window", "ca_file", "request_timeout", "retries")


def build_webhook(checker: Checker, raw: Any) -> WebhookConfig:
    path = "factors.providers.webhook"
    values = checker.section(path, raw, WEBHOOK_KEYS)
    default = WebhookConfig()
    for key in ("url", "shared_key_file"):
        if key not in values:
            checker.error(f"{path}.{key}", "is missing", show_value=False)
    return WebhookConfig(
        url=pick(values, "url", default.url, lambda: check_https_url(checker, f"{path}.url", values["url"])),
        shared_key_file=optional_file(checker, f"{path}.shared_key_file", values, "shared_key_file", private=True),
        answer=pick(values, "answer", default.answer, lambda: checker.choice(f"{path}.answer", values["answer"], WEBHOOK_ANSWER_MODES)),
        poll_interval=pick(values, "poll_interval", default.poll_interval,
                           lambda: checker.number(f"{path}.poll_interval", values["poll_interval"], 0.05, 60, "seconds")),
        replay_window=pick(values, "replay_window", default.replay_window,
                           lambda: checker.number(f"{path}.replay_window", values["replay_window"], 10, 3600, "seconds")),
        ca_file=optional_file(checker, f"{path}.ca_file", values, "ca_file"),
        request_timeout=pick(values, "request_timeout", default.request_timeout,
                             lambda: checker.number(f"{path}.request_timeout", values["request_timeout"], 0.1, 120, "seconds")),
        retries=pick(values, "retries", default.retries, lambda: checker.integer(f"{path}.retries", values["retries"], 0, 10)),
    )


def build_callbacks(checker: Checker, raw: Any) -> CallbacksConfig:
    path = "factors.callbacks"
    values = checker.section(path, raw, ("address", "port", "public_url", "certificate", "private_key"))
    default = CallbacksConfig()
    config = CallbacksConfig(
        address=pick(values, "address", default.address,
                     lambda: "" if values["address"] == "" else checker.address(f"{path}.address", values["address"])),
        port=pick(values, "port", default.port, lambda: checker.integer(f"{path}.port", values["port"], 0, 65535)),
        public_url=pick(values, "public_url", default.public_url,
                        lambda: check_https_url(checker, f"{path}.public_url", values["public_url"])),
        certificate=optional_file(checker, f"{path}.certificate", values, "certificate"),
        private_key=optional_file(checker, f"{path}.private_key", values, "private_key", private=True),
    )
    if config.enabled:
        for key in ("public_url", "certificate", "private_key"):
            if not getattr(config, key):
                checker.error(f"{path}.{key}", "is required when factors.callbacks.address is set", show_value=False)
    return config


def check_providers_configured(checker: Checker, config: FactorsConfig) -> None:
    """Each method's provider needs its section, and callback providers need the listener."""
    for method in ("voice", "sms", "push"):
        provider = getattr(config, method).provider
        if provider in ("twilio", "webhook") and getattr(config, provider) is None:
            checker.error(f"factors.{method}.provider", f"names {provider}, but factors.providers.{provider} is not set",
                          provider, fix=f"add a factors.providers.{provider} section")
        needs_callbacks = provider == "twilio" and method == "voice" or (
            provider == "webhook" and config.webhook is not None and config.webhook.answer == "callback")
        if needs_callbacks and not config.callbacks.enabled:
            checker.error(f"factors.{method}.provider", f"{provider} answers through callbacks, but"
                          " factors.callbacks.address is not set", provider,
                          fix="set factors.callbacks (address, public_url, certificate, private_key)")


def optional_file(checker: Checker, key_path: str, values: dict[str, Any], key: str, *, private: bool = False) -> Path | None:
    raw = values.get(key)
    if raw in (None, ""):
        return None
    return checker.readable_file(key_path, raw, private=private)


def check_e164(checker: Checker, key_path: str, value: Any) -> str | None:
    text = checker.string(key_path, value, allow_empty=False)
    if text is not None and not (text.startswith("+") and text[1:].isdigit() and 8 <= len(text) <= 16):
        checker.error(key_path, "must be a phone number in E.164 form such as +15005550006", text)
        return None
    return text


def check_https_url(checker: Checker, key_path: str, value: Any) -> str | None:
    text = checker.string(key_path, value, allow_empty=False)
    if text is None:
        return None
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme != "https" or not parsed.hostname:
        checker.error(key_path, "must be an https:// URL", text)
        return None
    return text.rstrip("/")


def check_method_name(checker: Checker, key_path: str, value: Any) -> str | None:
    return checker.choice(key_path, value, FACTOR_METHODS)
