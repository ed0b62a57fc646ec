"""The authentication pipeline: one path for every front end.

resolve the user → policy (exempt, unknown, not enrolled, pending) → split off
the code → primary check against AD → second factor → decision and audit line.

AD decides the password first. Only after AD accepts it does the second factor
run, so a guessed code reveals nothing without the password. A login that will
be rejected anyway (empty password, missing code) is rejected before AD gets
it, so it cannot count toward AD's lockout. A pending user (a phone but no
factor yet) is checked by AD first, so AD's own failures reach them, and is
then rejected.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from factorgate.audit.events import record_decision
from factorgate.auth.codesplit import split_code
from factorgate.auth.model import (
    AuthDecision,
    CodeMode,
    AuthRequest,
    DirectoryUser,
    PrimaryCheck,
    PrimaryResult,
    Reason,
    Verdict,
)
from factorgate.directory.resolver import Resolution, Resolver
from factorgate.auth.second_factor import SecondFactors
from factorgate.factors.totp_verifier import TotpResult, TotpVerifier
from factorgate.store.base import EnrollmentStatus, Store, TotpToken

log = logging.getLogger("factorgate.auth")

CODE_FAILURE_MESSAGES = {
    TotpResult.INVALID: "second factor failed: invalid code",
    TotpResult.REPLAYED: "second factor failed: code already used",
    TotpResult.NO_TOKEN: "second factor failed: no token enrolled",
}


@dataclass(frozen=True)
class PipelinePolicy:
    require_user_match: bool = False
    code_delimiter: bytes = b""


class Pipeline:
    def __init__(self, resolver: Resolver, store: Store, verifier: TotpVerifier, policy: PipelinePolicy,
                 factors: SecondFactors | None = None) -> None:
        self._resolver = resolver
        self._store = store
        self._verifier = verifier
        self._policy = policy
        # With `factors`, pending and enrolled users go through every method
        # (TOTP, HOTP, SMS, voice, push) with bypass, fraud block, lockout and
        # fail mode. Without it, only the TOTP path below runs.
        self._factors = factors

    async def authenticate(self, request: AuthRequest, primary: PrimaryCheck) -> AuthDecision:
        """Decide one login and write its auth-log line."""
        started = time.monotonic()
        decision = await self._decide(request, primary)
        record_decision(request, decision, time.monotonic() - started)
        return decision

    async def _decide(self, request: AuthRequest, primary: PrimaryCheck) -> AuthDecision:
        if not request.password:
            # RFC 4513 §5.1.2: AD takes a DN with an empty password as an
            # anonymous bind and returns success, so it must never reach AD.
            return reject(Reason.EMPTY_PASSWORD, "empty password")

        try:
            resolution = await self._resolver.resolve(request.login)
        except Exception as error:  # noqa: BLE001 - any look-up failure must fail closed
            log.error("user look-up for %r failed: %s", request.login, error)
            return reject(Reason.AD_UNAVAILABLE, "directory look-up failed")

        if resolution.exempt:
            return await self._ad_alone(request, primary, Reason.EXEMPT, resolution.user)
        if resolution.record is None:
            # Known to AD perhaps, but never imported: unknown to FactorGate.
            return await self._decide_unknown(request, primary, resolution.user)

        status = resolution.record.status
        if status is EnrollmentStatus.NOT_ENROLLED:
            return await self._ad_alone(request, primary, Reason.NOT_ENROLLED, resolution.user)
        if self._factors is not None:
            return await self._factors.decide(request, primary, resolution.record, resolution.user)
        if status is EnrollmentStatus.PENDING:
            return await self._decide_pending(request, primary, resolution.user)
        return await self._decide_enrolled(request, primary, resolution)

    async def _decide_pending(self, request: AuthRequest, primary: PrimaryCheck, user: DirectoryUser) -> AuthDecision:
        """Refuse a user who has a phone but no usable factor yet (fail secure).

        AD is asked first so that its own failures (locked, disabled, must
        change) reach the user, and so that only the right password learns
        that enrollment is missing.
        """
        if request.code_mode is CodeMode.CODE_ONLY:
            return reject(Reason.PENDING_ENROLLMENT, "second factor failed: not yet enrolled", user)
        result = await primary(request.password)
        if not result.ok:
            return primary_failure(result, user)
        return AuthDecision(
            Verdict.REJECT, Reason.PENDING_ENROLLMENT, "second factor failed: not yet enrolled", primary=result, user=user
        )

    async def answer_challenge(self, request: AuthRequest, user: DirectoryUser) -> AuthDecision:
        """Verify the code sent in answer to a challenge; AD already accepted the password.

        `request.password` holds the code alone. The caller has checked that
        the challenge belongs to this user and client and has not expired.
        """
        started = time.monotonic()
        record = self._store.get_user(user.guid) if self._factors is not None else None
        if record is not None:
            decision = await self._factors.answer_challenge(request, record, user)
        else:
            decision = self._verify_code(user, request.password)
        record_decision(request, decision, time.monotonic() - started)
        return decision

    async def _decide_unknown(
        self, request: AuthRequest, primary: PrimaryCheck, user: DirectoryUser | None
    ) -> AuthDecision:
        if self._policy.require_user_match:
            return reject(Reason.UNKNOWN_USER_REJECTED, "user not known to FactorGate", user)
        if user is None:
            return await self._decide_unresolved(request, primary)
        return await self._ad_alone(request, primary, Reason.UNKNOWN_USER, user)

    async def _decide_unresolved(self, request: AuthRequest, primary: PrimaryCheck) -> AuthDecision:
        """Reject a name that neither the store nor an AD search finds, even if AD's bind takes it.

        AD's simple bind accepts more name forms than FactorGate resolves
        (other domains, escaped DNs, and forms a search cannot match). If AD
        accepts such a name, the account behind it may be an enrolled user,
        and AD's answer alone would skip the second factor; so the login
        fails closed. A wrong password still gets AD's own failure.
        """
        if request.code_mode is CodeMode.CODE_ONLY:
            return reject(Reason.UNRESOLVED_NAME, "login name not recognised")
        result = await primary(request.password)
        if not result.ok:
            return primary_failure(result, None)
        log.warning("AD accepted the login name %r, which FactorGate cannot resolve to a user; rejected", request.login)
        return AuthDecision(
            Verdict.REJECT, Reason.UNRESOLVED_NAME,
            "login name not recognised: use the UPN, DOMAIN\\user or DN", primary=result,
        )

    async def _ad_alone(
        self, request: AuthRequest, primary: PrimaryCheck, reason: Reason, user: DirectoryUser | None
    ) -> AuthDecision:
        """Let AD's answer decide, as the MFA Server did for users without a phone.

        In `code_only` mode the client has already had the password checked by
        AD, so there is nothing left to check.
        """
        if request.code_mode is CodeMode.CODE_ONLY:
            return AuthDecision(Verdict.ACCEPT, reason, user=user)
        result = await primary(request.password)
        if not result.ok:
            return primary_failure(result, user)
        return AuthDecision(Verdict.ACCEPT, reason, primary=result, user=user)

    async def _decide_enrolled(
        self, request: AuthRequest, primary: PrimaryCheck, resolution: Resolution
    ) -> AuthDecision:
        user = resolution.user
        token = self._store.get_totp(user.guid)
        if token is None:
            return reject(Reason.PENDING_ENROLLMENT, "second factor failed: not yet enrolled", user)

        if request.code_mode is CodeMode.CODE_ONLY:
            return self._verify_code(user, request.password, token)

        if request.code_mode is CodeMode.CHALLENGE:
            result = await primary(request.password)
            if not result.ok:
                return primary_failure(result, user)
            return AuthDecision(Verdict.CHALLENGE, Reason.CODE_REQUIRED, "Enter the code from your authenticator app", primary=result, user=user)

        split = split_code(request.password, token.digits, self._policy.code_delimiter)
        if split is None:
            return reject(Reason.MISSING_CODE, "second factor failed: missing code", user)

        result = await primary(split.password)
        if not result.ok:
            return primary_failure(result, user)
        return self._verify_code(user, split.code.encode("ascii"), token, result)

    def _verify_code(
        self, user: DirectoryUser, code: bytes, token: TotpToken | None = None, primary: PrimaryResult | None = None
    ) -> AuthDecision:
        outcome = self._verifier.verify(user.guid, code, token)
        if outcome is TotpResult.OK:
            return AuthDecision(Verdict.ACCEPT, Reason.TOTP_OK, primary=primary, user=user)
        reason = Reason.REPLAYED_CODE if outcome is TotpResult.REPLAYED else Reason.INVALID_CODE
        return AuthDecision(Verdict.REJECT, reason, CODE_FAILURE_MESSAGES[outcome], primary=primary, user=user)


def reject(reason: Reason, message: str, user: DirectoryUser | None = None) -> AuthDecision:
    return AuthDecision(Verdict.REJECT, reason, message, user=user)


def primary_failure(result: PrimaryResult, user: DirectoryUser | None) -> AuthDecision:
    reason = Reason.AD_UNAVAILABLE if result.unavailable else Reason.AD_REJECTED
    return AuthDecision(Verdict.REJECT, reason, result.diagnostic, primary=result, user=user)
