"""The second-factor step of the pipeline for every method: TOTP, HOTP, SMS, voice and push.

It runs for imported users who are pending or enrolled, and always after the
password (or with `code_only`, after the client's own AD check). The order,
once AD has accepted the password:

1. a one-time bypass granted by an administrator is used (and consumed);
2. a fraud block refuses the login without a call;
3. a lockout refuses it (codes count the attempt before checking it, so
   concurrent logins cannot guess past the limit);
4. calls, pushes and SMS count toward the anti-fatigue limit per window;
5. the factor itself runs; a provider that cannot be reached leads to the fail
   mode: refused (`secure`), or the password alone for a `safe` client.

SMS over a single password field works in two logins. The first, with the
password alone, sends a code and is refused with "SMS sent, log in again with
the code appended". While that code is valid, a login whose password ends in
the code's digits is split: the rest goes to AD and the code is checked. So
each login still sends AD exactly one candidate password.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from factorgate.auth.codesplit import split_code
from factorgate.auth.model import (
    AuthDecision,
    AuthRequest,
    CodeMode,
    DirectoryUser,
    PrimaryCheck,
    PrimaryResult,
    Reason,
    Verdict,
)
from factorgate.factors.fraud import FraudAlerter
from factorgate.factors.hotp_verifier import HotpResult, HotpVerifier
from factorgate.factors.outcomes import Outcome
from factorgate.factors.outofband import OutOfBand
from factorgate.factors.totp_verifier import TotpResult, TotpVerifier
from factorgate.store.base import FactorStore, UserRecord

log = logging.getLogger("factorgate.auth")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SMS_SENT_MESSAGE = "second factor failed: SMS sent, log in again with the code appended"
SMS_CHALLENGE_MESSAGE = "Enter the code sent to your phone by SMS"
CODE_CHALLENGE_MESSAGE = "Enter the code from your authenticator app"


@dataclass(frozen=True)
class FactorPolicy:
    """Settings of the second-factor step; the configuration's `factors:` section builds it."""

    default_method: str = "totp"
    code_delimiter: bytes = b""
    max_failures: int = 10
    lock_seconds: float = 900.0           # 0: locked until an administrator unlocks
    prompt_limit: int = 5                 # calls, pushes and SMS per user per window
    prompt_window: float = 300.0
    sms_digits: int = 6
    sms_lifetime: float = 300.0
    sms_text: str = "Your sign-in code is {code}. It expires in {minutes} minutes."
    safe_ldap_clients: tuple[IPNetwork, ...] = ()
    safe_radius_clients: tuple[str, ...] = ()


class SecondFactors:
    """Decide the second factor of one login; see the module docstring for the order."""

    def __init__(self, store: FactorStore, totp: TotpVerifier, hotp: HotpVerifier, outofband: OutOfBand | None,
                 alerter: FraudAlerter | None, policy: FactorPolicy, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._totp = totp
        self._hotp = hotp
        self._outofband = outofband
        self._alerter = alerter
        self._policy = policy
        self._clock = clock

    def method_of(self, record: UserRecord) -> str:
        return self._store.get_method(record.guid) or self._policy.default_method

    async def decide(self, request: AuthRequest, primary: PrimaryCheck, record: UserRecord,
                     user: DirectoryUser) -> AuthDecision:
        method = self.method_of(record)
        if method in ("totp", "hotp"):
            return await self._code_login(request, primary, record, user, method)
        if not record.phone and method in ("voice", "sms"):
            return await self._refuse_after_primary(request, primary, user, Reason.NO_PHONE,
                                                    "second factor failed: no phone number on record")
        if method == "sms":
            return await self._sms_login(request, primary, record, user)
        return await self._prompt_login(request, primary, record, user, method)

    async def answer_challenge(self, request: AuthRequest, record: UserRecord, user: DirectoryUser) -> AuthDecision:
        """Check a code sent in answer to an Access-Challenge; AD already accepted the password."""
        method = self.method_of(record)
        blocked = self._gate(user)
        if blocked is not None:
            return blocked
        return self._check_code(request, user, method, request.password.decode("ascii", "replace"))

    # TOTP and HOTP

    async def _code_login(self, request: AuthRequest, primary: PrimaryCheck, record: UserRecord,
                          user: DirectoryUser, method: str) -> AuthDecision:
        token = self._store.get_totp(user.guid) if method == "totp" else self._store.get_hotp(user.guid)
        if token is None:
            return await self._refuse_after_primary(request, primary, user, Reason.PENDING_ENROLLMENT,
                                                    "second factor failed: not yet enrolled")

        if request.code_mode is CodeMode.CODE_ONLY:
            return self._gate(user) or self._check_code(request, user, method, request.password.decode("ascii", "replace"))

        if request.code_mode is CodeMode.CHALLENGE or self._store.has_bypass(user.guid, self._clock()):
            result = await primary(request.password)
            if not result.ok:
                return primary_failure(result, user)
            used = self._use_bypass(request, user, result)
            if used is not None:
                return used
            if request.code_mode is CodeMode.APPENDED:
                # A valid bypass that another login used in between: this login sent no code.
                return reject(Reason.MISSING_CODE, "second factor failed: missing code", user, result)
            blocked = self._gate(user, result)
            if blocked is not None:
                return blocked
            return AuthDecision(Verdict.CHALLENGE, Reason.CODE_REQUIRED, CODE_CHALLENGE_MESSAGE, primary=result, user=user)

        split = split_code(request.password, token.digits, self._policy.code_delimiter)
        if split is None:
            return reject(Reason.MISSING_CODE, "second factor failed: missing code", user)
        result = await primary(split.password)
        if not result.ok:
            return primary_failure(result, user)
        return self._gate(user, result) or self._check_code(request, user, method, split.code, result)

    def _check_code(self, request: AuthRequest, user: DirectoryUser, method: str, code: str,
                    result: PrimaryResult | None = None) -> AuthDecision:
        policy = self._policy
        if not self._store.reserve_factor_attempt(user.guid, self._clock(), policy.max_failures, policy.lock_seconds):
            return self._locked(user, result)

        if method == "totp":
            outcome = self._totp.verify(user.guid, code)
            ok, replayed = outcome is TotpResult.OK, outcome is TotpResult.REPLAYED
            success = Reason.TOTP_OK
        elif method == "hotp":
            outcome = self._hotp.verify(user.guid, code)
            ok, replayed = outcome is HotpResult.OK, outcome is HotpResult.REPLAYED
            success = Reason.HOTP_OK
        else:
            ok, replayed = self._store.consume_sms_code(user.guid, code, self._clock()), False
            success = Reason.SMS_OK

        if ok:
            self._store.record_factor_success(user.guid, self._clock())
            return AuthDecision(Verdict.ACCEPT, success, primary=result, user=user)
        self._note_failure(user)
        if replayed:
            return reject(Reason.REPLAYED_CODE, "second factor failed: code already used", user, result)
        return reject(Reason.INVALID_CODE, "second factor failed: invalid code", user, result)

    # SMS

    async def _sms_login(self, request: AuthRequest, primary: PrimaryCheck, record: UserRecord,
                         user: DirectoryUser) -> AuthDecision:
        now = self._clock()
        if request.code_mode is CodeMode.CODE_ONLY:
            # The client checked the password; the code can only be one sent before.
            return self._gate(user) or self._check_code(request, user, "sms", request.password.decode("ascii", "replace"))

        digits = self._store.pending_sms_digits(user.guid, now)
        split = None
        if digits is not None and request.code_mode is CodeMode.APPENDED:
            split = split_code(request.password, digits, self._policy.code_delimiter)
        if split is not None:
            result = await primary(split.password)
            if not result.ok:
                return primary_failure(result, user)
            return self._gate(user, result) or self._check_code(request, user, "sms", split.code, result)

        result = await primary(request.password)
        if not result.ok:
            return primary_failure(result, user)
        return self._use_bypass(request, user, result) or self._gate(user, result) or await self._send_sms(
            request, record, user, result)

    async def _send_sms(self, request: AuthRequest, record: UserRecord, user: DirectoryUser,
                        result: PrimaryResult) -> AuthDecision:
        limited = self._take_prompt(user, result)
        if limited is not None:
            return limited
        policy = self._policy
        code = "".join(secrets.choice("0123456789") for _ in range(policy.sms_digits))
        now = self._clock()
        self._store.put_sms_code(user.guid, code, now + policy.sms_lifetime, now)
        text = policy.sms_text.format(code=code, minutes=max(1, round(policy.sms_lifetime / 60)))

        outcome = await self._outofband_or_none().deliver("sms", user.guid, user.sam_account_name, record.phone, text)
        if outcome.provider_down:
            return self._provider_down(request, user, result, outcome)
        if outcome is not Outcome.SUCCESS_SMS_SENT:
            return reject(Reason.OOB_FAILED, f"second factor failed: {outcome.text}", user, result, outcome)
        if request.code_mode is CodeMode.CHALLENGE or request.protocol == "radius":
            # RADIUS can ask for the code in the same login with an Access-Challenge.
            return AuthDecision(Verdict.CHALLENGE, Reason.SMS_SENT, SMS_CHALLENGE_MESSAGE, primary=result,
                                user=user, outcome=outcome.value)
        return reject(Reason.SMS_SENT, SMS_SENT_MESSAGE, user, result, outcome)

    # Voice and push

    async def _prompt_login(self, request: AuthRequest, primary: PrimaryCheck, record: UserRecord,
                            user: DirectoryUser, method: str) -> AuthDecision:
        result = None
        if request.code_mode is not CodeMode.CODE_ONLY:
            result = await primary(request.password)
            if not result.ok:
                return primary_failure(result, user)

        decided = self._use_bypass(request, user, result) or self._gate(user, result) or self._check_locked(user, result)
        if decided is not None:
            return decided
        limited = self._take_prompt(user, result)
        if limited is not None:
            return limited

        outcome = await self._outofband_or_none().deliver(method, user.guid, user.sam_account_name, record.phone)
        return self._decide_outcome(request, user, method, outcome, result)

    def _decide_outcome(self, request: AuthRequest, user: DirectoryUser, method: str, outcome: Outcome,
                        result: PrimaryResult | None) -> AuthDecision:
        policy = self._policy
        if outcome.approved:
            self._store.record_factor_success(user.guid, self._clock())
            return AuthDecision(Verdict.ACCEPT, Reason.OOB_APPROVED, primary=result, user=user, outcome=outcome.value)
        if outcome.fraud:
            if self._alerter is not None:
                self._alerter.report(user.guid, user.sam_account_name, method, request.client_address, request.protocol)
            return reject(Reason.FRAUD_REPORTED, "second factor failed: fraud reported", user, result, outcome)
        if outcome.provider_down:
            return self._provider_down(request, user, result, outcome)
        if outcome.user_failure:
            state = self._store.record_factor_failure(user.guid, self._clock(), policy.max_failures, policy.lock_seconds)
            if state.failures >= policy.max_failures:
                log.warning("user %s: second factor locked after %d failures", user.sam_account_name, state.failures)
        return reject(Reason.OOB_FAILED, f"second factor failed: {outcome.text}", user, result, outcome)

    # Gates

    def _use_bypass(self, request: AuthRequest, user: DirectoryUser, result: PrimaryResult | None) -> AuthDecision | None:
        reason = self._store.consume_bypass(user.guid, self._clock())
        if reason is None:
            return None
        log.warning("user %s logged in with a one-time bypass (reason: %s) from %s over %s",
                    user.sam_account_name, reason, request.client_address, request.protocol)
        return AuthDecision(Verdict.ACCEPT, Reason.BYPASS, primary=result, user=user)

    def _gate(self, user: DirectoryUser, result: PrimaryResult | None = None) -> AuthDecision | None:
        block = self._store.get_block(user.guid, self._clock())
        if block is None:
            return None
        return reject(Reason.FRAUD_BLOCKED, "second factor failed: blocked after a fraud report; contact the help desk",
                      user, result)

    def _check_locked(self, user: DirectoryUser, result: PrimaryResult | None) -> AuthDecision | None:
        if self._store.lockout_state(user.guid).locked_until > self._clock():
            return self._locked(user, result)
        return None

    def _locked(self, user: DirectoryUser, result: PrimaryResult | None) -> AuthDecision:
        return reject(Reason.LOCKED_OUT, "second factor failed: locked after too many failures; contact the help desk",
                      user, result)

    def _note_failure(self, user: DirectoryUser) -> None:
        state = self._store.lockout_state(user.guid)
        if state.failures == self._policy.max_failures:
            log.warning("user %s: second factor locked after %d failures", user.sam_account_name, state.failures)

    def _take_prompt(self, user: DirectoryUser, result: PrimaryResult | None) -> AuthDecision | None:
        policy = self._policy
        if self._store.take_prompt(user.guid, self._clock(), policy.prompt_limit, policy.prompt_window):
            return None
        log.warning("user %s: prompt limit of %d per %.0f s reached; no call, push or SMS sent",
                    user.sam_account_name, policy.prompt_limit, policy.prompt_window)
        return reject(Reason.PROMPT_LIMIT, "second factor failed: too many prompts, try again later", user, result)

    def _provider_down(self, request: AuthRequest, user: DirectoryUser, result: PrimaryResult | None,
                       outcome: Outcome) -> AuthDecision:
        if self._is_safe_client(request):
            log.warning("fail mode safe: user %s from %s (%s) accepted with the password alone: provider unreachable",
                        user.sam_account_name, request.client_address, request.client_name or request.protocol)
            return AuthDecision(Verdict.ACCEPT, Reason.FAIL_OPEN, primary=result, user=user, outcome=outcome.value)
        return reject(Reason.PROVIDER_UNAVAILABLE, "second factor failed: service unavailable, try again later",
                      user, result, outcome)

    def _is_safe_client(self, request: AuthRequest) -> bool:
        if request.protocol == "radius":
            return request.client_name in self._policy.safe_radius_clients
        try:
            address = ipaddress.ip_address(request.client_address)
        except ValueError:
            return False
        return any(address in network for network in self._policy.safe_ldap_clients)

    def _outofband_or_none(self) -> OutOfBand:
        if self._outofband is None:
            raise RuntimeError("no provider is configured for calls, SMS or pushes: set factors.voice/sms/push")
        return self._outofband

    async def _refuse_after_primary(self, request: AuthRequest, primary: PrimaryCheck, user: DirectoryUser,
                                    reason: Reason, message: str) -> AuthDecision:
        """Refuse a user who cannot do their method, after AD so only the right password learns why."""
        if request.code_mode is CodeMode.CODE_ONLY:
            return reject(reason, message, user)
        result = await primary(request.password)
        if not result.ok:
            return primary_failure(result, user)
        return reject(reason, message, user, result)


def reject(reason: Reason, message: str, user: DirectoryUser | None, result: PrimaryResult | None = None,
           outcome: Outcome | None = None) -> AuthDecision:
    return AuthDecision(Verdict.REJECT, reason, message, primary=result, user=user,
                        outcome=outcome.value if outcome is not None else "")


def primary_failure(result: PrimaryResult, user: DirectoryUser | None) -> AuthDecision:
    reason = Reason.AD_UNAVAILABLE if result.unavailable else Reason.AD_REJECTED
    return AuthDecision(Verdict.REJECT, reason, result.diagnostic, primary=result, user=user)

