"""Tests of the RADIUS retransmission cache, driven by a fake clock."""

from __future__ import annotations

import pytest

from factorgate.radius.dedup import (
    FULL,
    IN_PROGRESS,
    NEW,
    CacheStatus,
    RetransmitCache,
    RetransmitKey,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_key(identifier: int, port: int = 40000) -> RetransmitKey:
    return RetransmitKey("127.0.0.1", port, identifier, bytes([identifier]) * 16)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_begin_first_copy_is_new(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    assert cache.begin(make_key(1)) == NEW


def test_begin_while_processing_is_in_progress(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    clock.now += 60
    assert cache.begin(make_key(1)) == IN_PROGRESS


def test_begin_after_finish_returns_same_reply(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.finish(make_key(1), b"reply-bytes")
    hit = cache.begin(make_key(1))
    assert hit.status is CacheStatus.ANSWERED
    assert hit.reply == b"reply-bytes"


def test_key_fields_each_distinguish_requests(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    base = make_key(1)
    cache.begin(base)
    assert cache.begin(base._replace(client_address="127.0.0.9")) == NEW
    assert cache.begin(base._replace(source_port=40001)) == NEW
    assert cache.begin(base._replace(identifier=2)) == NEW
    assert cache.begin(base._replace(request_authenticator=bytes(16))) == NEW


def test_abandon_lets_retransmission_through(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.abandon(make_key(1))
    assert cache.begin(make_key(1)) == NEW


def test_answered_entry_expires_ttl_after_finish(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    clock.now += 60
    cache.finish(make_key(1), b"reply")
    clock.now += 89.9
    assert cache.begin(make_key(1)).status is CacheStatus.ANSWERED
    clock.now += 0.1
    assert cache.begin(make_key(1)) == NEW


def test_in_progress_entry_outlives_ttl(clock: FakeClock) -> None:
    # A phone call may take longer than the ttl; its retransmissions must
    # still be dropped, never start a second call.
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    clock.now += 600
    assert cache.begin(make_key(1)) == IN_PROGRESS


def test_expiry_removes_entries(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    for identifier in range(5):
        cache.begin(make_key(identifier))
    cache.finish(make_key(0), b"reply")
    clock.now += 91
    cache.begin(make_key(99))
    assert len(cache) == 5  # the answer expired; four in progress and the new one stay
    assert cache.begin(make_key(0)) == NEW


def test_full_cache_evicts_oldest_answered(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=3, ttl=90, clock=clock)
    for identifier in (1, 2, 3):
        cache.begin(make_key(identifier))
    cache.finish(make_key(2), b"reply-2")
    clock.now += 1
    cache.finish(make_key(1), b"reply-1")

    assert cache.begin(make_key(4)) == NEW   # evicts key 2, answered first
    assert cache.begin(make_key(1)).reply == b"reply-1"
    assert cache.begin(make_key(3)) == IN_PROGRESS
    assert cache.begin(make_key(5)) == NEW   # evicts key 1, the last answered entry
    assert cache.begin(make_key(1)) == FULL  # keys 3, 4, 5 are all in progress


def test_full_cache_of_in_progress_reports_full(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=2, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.begin(make_key(2))
    assert cache.begin(make_key(3)) == FULL
    assert len(cache) == 2


def test_full_cache_does_not_block_known_requests(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=2, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.begin(make_key(2))
    assert cache.begin(make_key(1)) == IN_PROGRESS


def test_finish_after_expiry_stores_reply_when_room(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=2, ttl=90, clock=clock)
    cache.begin(make_key(1))
    clock.now += 100
    cache.finish(make_key(1), b"late")
    assert cache.begin(make_key(1)).reply == b"late"


def test_finish_without_room_does_not_exceed_bound(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=2, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.abandon(make_key(1))
    cache.begin(make_key(2))
    cache.begin(make_key(3))
    cache.finish(make_key(1), b"late")
    assert len(cache) == 2
    assert cache.begin(make_key(1)) == FULL


def test_in_progress_count_tracks_begin_and_finish(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.begin(make_key(2))
    cache.finish(make_key(1), b"reply")
    assert cache.in_progress_count == 1


def test_hit_repr_hides_reply_bytes(clock: FakeClock) -> None:
    cache = RetransmitCache(max_entries=10, ttl=90, clock=clock)
    cache.begin(make_key(1))
    cache.finish(make_key(1), b"secret-looking-reply")
    assert "secret" not in repr(cache.begin(make_key(1)))


@pytest.mark.parametrize(("max_entries", "ttl"), [(0, 90), (10, 0), (10, -1)])
def test_constructor_rejects_bad_limits(max_entries: int, ttl: float) -> None:
    with pytest.raises(ValueError):
        RetransmitCache(max_entries=max_entries, ttl=ttl)
