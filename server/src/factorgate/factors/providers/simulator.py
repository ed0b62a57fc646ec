"""The `simulator` provider: calls, SMS and pushes answered by a script, inside FactorGate.

It drives the demo and the tests. Each attempt takes the first answer found in:
an answer queued for the user through `queue_answer` (the in-process test and
admin hook), the user's entry in `script_file` (a JSON object re-read when the
file changes, so tests of a running node can change it), the user's entry in
`answers` from the configuration, and finally `default_answer`.

Answers (case-insensitive):

    #            answer and press '#': approve
    0#           answer and press '0#': report fraud
    1234         answer, press keys but never '#'
    silent       answer and press nothing until the gather times out
    hangup       answer and hang up
    no_answer    ring until the carrier gives up
    busy         the line is busy
    never        report nothing at all, so the login waits for its timeout
    unreachable  the provider cannot be reached (exercises the fail mode)
    approve | deny | report      push answers ('#' and '0#' work for push too)
    deliver | fail               SMS answers (deliver is what any other answer does for SMS)
    slow:N:ANSWER                give ANSWER after N seconds

Timers are `loop.call_later` handles, so a waiting attempt costs no task.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

from factorgate.factors.outcomes import EventKind, RawEvent
from factorgate.factors.providers.base import Attempt, ProviderUnavailable

log = logging.getLogger("factorgate.factors")

ANSWER_DELAY = 0.05   # seconds between the call being answered and the keys arriving


@dataclass(frozen=True)
class SimulatorSettings:
    default_answer: str = "#"
    answers: dict[str, str] = field(default_factory=dict)   # by sAMAccountName, lower case
    script_file: Path | None = None
    outbox_file: Path | None = None   # each SMS is appended as a JSON line (demo and tests only)


@dataclass(frozen=True)
class SentMessage:
    method: str
    user: str
    phone: str
    message: str = field(repr=False)


class SimulatorProvider:
    name = "simulator"

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.sent: list[SentMessage] = []
        self.started = 0
        self._queued: dict[str, deque[str]] = defaultdict(deque)
        self._script: dict[str, str] = {}
        self._script_stamp: tuple[float, int] | None = None

    def queue_answer(self, user: str, answer: str) -> None:
        """Script the next attempt for `user` (one attempt per queued answer)."""
        self._queued[user.lower()].append(answer)

    async def start(self, attempt: Attempt) -> None:
        answer = self.pick_answer(attempt.user)
        delay = 0.0
        if answer.startswith("slow:"):
            _, seconds, answer = answer.split(":", 2)
            delay = float(seconds)
        if answer == "unreachable":
            raise ProviderUnavailable("simulator scripted as unreachable")

        self.started += 1
        self.sent.append(SentMessage(attempt.method, attempt.user, attempt.phone, attempt.message))
        if attempt.method == "sms":
            self._write_outbox(attempt)
        attempt.provider_ref = f"SIM{self.started:08d}"
        log.debug("simulator: %s to %s for %s answers %r", attempt.method, attempt.phone, attempt.user, answer)

        attempt.report(RawEvent(EventKind.ACCEPTED))
        loop = asyncio.get_running_loop()
        for offset, event in script_events(attempt.method, answer):
            loop.call_later(delay + offset, attempt.report, event)

    async def close(self) -> None:
        return None

    def pick_answer(self, user: str) -> str:
        key = user.lower()
        if self._queued.get(key):
            return self._queued[key].popleft().strip().lower()
        script = self._read_script()
        for source in (script, self.settings.answers):
            if key in source:
                return source[key].strip().lower()
        return self.settings.default_answer.strip().lower()

    def _read_script(self) -> dict[str, str]:
        path = self.settings.script_file
        if path is None:
            return {}
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return {}
        stamp = (info.st_mtime, info.st_size)
        if stamp != self._script_stamp:
            try:
                loaded = json.loads(Path(path).read_text(encoding="utf-8"))
                self._script = {str(k).lower(): str(v) for k, v in loaded.items()}
            except (OSError, ValueError, AttributeError) as error:
                log.error("simulator script file %s is not a JSON object of user: answer (%s); ignoring it", path, error)
                self._script = {}
            self._script_stamp = stamp
        return self._script

    def _write_outbox(self, attempt: Attempt) -> None:
        path = self.settings.outbox_file
        if path is None:
            return
        line = json.dumps({"user": attempt.user, "phone": attempt.phone, "message": attempt.message})
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def script_events(method: str, answer: str) -> list[tuple[float, RawEvent]]:
    """Return (delay in seconds, event) pairs that play `answer` for `method`."""
    if answer == "never":
        return []
    if method == "sms":
        if answer in ("fail", "undelivered"):
            return [(0.0, RawEvent(EventKind.UNDELIVERED, detail="simulated"))]
        return [(0.0, RawEvent(EventKind.DELIVERED))]
    if method == "push":
        return push_events(answer)
    return voice_events(answer)


def voice_events(answer: str) -> list[tuple[float, RawEvent]]:
    answered = (0.0, RawEvent(EventKind.ANSWERED))
    if answer == "no_answer":
        return [(0.0, RawEvent(EventKind.RINGING)), (ANSWER_DELAY, RawEvent(EventKind.NO_ANSWER))]
    if answer == "busy":
        return [(0.0, RawEvent(EventKind.BUSY))]
    if answer == "hangup":
        return [answered, (ANSWER_DELAY, RawEvent(EventKind.HUNG_UP))]
    if answer == "silent":
        return [answered, (ANSWER_DELAY, RawEvent(EventKind.DIGITS, digits=""))]
    if answer in ("approve", "deny", "report"):
        answer = {"approve": "#", "deny": "silent", "report": "0#"}[answer]
        return voice_events(answer)
    return [answered, (ANSWER_DELAY, RawEvent(EventKind.DIGITS, digits=answer))]


def push_events(answer: str) -> list[tuple[float, RawEvent]]:
    delivered = (0.0, RawEvent(EventKind.DELIVERED))
    kind = {
        "#": EventKind.APPROVED,
        "approve": EventKind.APPROVED,
        "0#": EventKind.REPORTED,
        "report": EventKind.REPORTED,
        "deny": EventKind.DENIED,
        "hangup": EventKind.DENIED,
        "fail": EventKind.UNDELIVERED,
    }.get(answer)
    if kind is None:
        return [delivered]   # no answer: the login waits for its timeout
    return [delivered, (ANSWER_DELAY, RawEvent(kind))]
