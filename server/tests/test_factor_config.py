"""The `factors:` configuration section and the import's method and region keys."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from test_config import errors_of, files, load  # noqa: F401 - `files` is a fixture

from factorgate.factors.settings import FactorsConfig


def secret_file(tmp_path: Path, name: str, text: str = "s3cret-token-value") -> str:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_factors_defaults(tmp_path, files):
    config = load(tmp_path, files)
    assert config.factors == FactorsConfig()
    assert config.factors.voice.timeout == 60
    assert config.factors.lockout.max_failures == 10
    assert config.factors.fraud.block_days == 90


def test_factors_values_converted(tmp_path, files):
    config = load(tmp_path, files, factors={
        "voice": {"timeout": 30},
        "lockout": {"max_failures": 5, "lock_seconds": 0},
        "fail_mode": {"safe_ldap_clients": ["10.0.0.0/8"], "safe_radius_clients": ["legacy-vpn"]},
        "providers": {"simulator": {"answers": {"Carol": "0#"}}},
    }, **{"import": {"default_method": "voice", "phone_region": "de"}})
    assert config.factors.voice.timeout == 30
    assert config.factors.lockout.lock_seconds == 0
    assert config.factors.fail_mode.safe_ldap_clients == (ipaddress.ip_network("10.0.0.0/8"),)
    assert config.factors.simulator.answers == (("carol", "0#"),)
    assert config.import_.default_method == "voice"
    assert config.import_.phone_region == "DE"


def test_max_failures_capped_at_100(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={"lockout": {"max_failures": 500}})
    assert errors == ["factors.lockout.max_failures: must be between 1 and 100 (got 500)"]


def test_unknown_method_rejected(tmp_path, files):
    errors = errors_of(tmp_path, files, **{"import": {"default_method": "carrier-pigeon"}})
    assert errors == ['import.default_method: must be one of voice, sms, push, totp, hotp (got "carrier-pigeon")']


def test_unknown_region_rejected(tmp_path, files):
    errors = errors_of(tmp_path, files, **{"import": {"phone_region": "XX"}})
    assert errors[0].startswith("import.phone_region: must be a two-letter ISO 3166 region code")


def test_twilio_provider_needs_its_section(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={"sms": {"provider": "twilio"}})
    assert errors[0].startswith("factors.sms.provider: names twilio, but factors.providers.twilio is not set")


def test_push_cannot_use_twilio(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={"push": {"provider": "twilio"}})
    assert errors == ['factors.push.provider: must be one of simulator, webhook (got "twilio")']


def test_twilio_voice_needs_callbacks(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={
        "voice": {"provider": "twilio"},
        "providers": {"twilio": {"account_sid": "AC" + "0" * 32, "from_number": "+15005550006",
                                 "auth_token_file": secret_file(tmp_path, "twilio.token")}},
    })
    assert errors[0].startswith("factors.voice.provider: twilio answers through callbacks")


def test_twilio_section_checked(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={
        "providers": {"twilio": {"account_sid": "XY12", "from_number": "5550006",
                                 "auth_token_file": secret_file(tmp_path, "twilio.token"),
                                 "api_url": "http://api.twilio.com"}},
    })
    assert 'factors.providers.twilio.account_sid: must be a Twilio Account SID: AC followed by 32 hexadecimal digits (got "XY12")' in errors
    assert 'factors.providers.twilio.from_number: must be a phone number in E.164 form such as +15005550006 (got "5550006")' in errors
    assert 'factors.providers.twilio.api_url: must be an https:// URL (got "http://api.twilio.com")' in errors


def test_twilio_token_file_must_be_private(tmp_path, files):
    token = secret_file(tmp_path, "twilio.token")
    Path(token).chmod(0o644)
    errors = errors_of(tmp_path, files, factors={
        "providers": {"twilio": {"account_sid": "AC" + "0" * 32, "from_number": "+15005550006", "auth_token_file": token}},
    })
    assert errors[0].startswith("factors.providers.twilio.auth_token_file: file is accessible by group or others")


def test_callbacks_need_url_and_certificate(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={"callbacks": {"address": "127.0.0.1"}})
    assert "factors.callbacks.public_url: is required when factors.callbacks.address is set" in errors
    assert "factors.callbacks.certificate: is required when factors.callbacks.address is set" in errors


def test_sms_text_needs_code(tmp_path, files):
    errors = errors_of(tmp_path, files, factors={"sms": {"text": "Hello"}})
    assert errors == ['factors.sms.text: must contain {code}, where the code goes (got "Hello")']


def test_safe_clients_warned(tmp_path, files):
    config = load(tmp_path, files, factors={"fail_mode": {"safe_ldap_clients": ["10.0.0.0/8"]}})
    assert any(line.startswith("factors.fail_mode.safe_ldap_clients[0]") for line in config.warnings())
