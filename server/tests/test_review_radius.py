"""Review findings in the RADIUS front end, written as tests that fail while the flaw is open.

Each test asserts the correct behaviour; an xfail(strict=True) marker stays
on a test only while its flaw is open.
"""

from __future__ import annotations

import asyncio

import pytest

from test_radius_handler import SECRET, Rig, make_client, store  # noqa: F401 - `store` is a fixture

from factorgate.radius.handler import HandlerSettings
from factorgate.radius.packet import access_request


async def test_retransmit_in_progress_not_reprocessed(store):  # noqa: F811
    rig = Rig(store, [make_client()], HandlerSettings(retransmit_cache_ttl=90))
    rig.ad.gate = asyncio.Event()   # the login waits, as on a long phone call
    datagram = access_request("bob", "bob-pw", SECRET)
    rig.receive(datagram)
    await asyncio.sleep(0)
    rig.clock.now += 91
    rig.receive(datagram)
    await asyncio.sleep(0)
    rig.ad.gate.set()
    await rig.settle()

    assert len(rig.ad.calls) == 1
