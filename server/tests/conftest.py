"""Shared pytest fixtures of the server's test suite."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

# A 2 s deadline per example still catches a decoder that hangs, but not a
# shared CI machine that pauses the test for a few hundred milliseconds.
settings.register_profile("factorgate", deadline=2000)
settings.load_profile("factorgate")

from ad_env import load_ad, should_skip_without_samba


@pytest.fixture(scope="session")
def test_ad() -> dict[str, Any]:
    """The facts of the test AD (ad.json), started by scripts/test-ad on first use."""
    if should_skip_without_samba():
        pytest.skip("Samba is not installed; run scripts/install-deps as root")
    return load_ad()
