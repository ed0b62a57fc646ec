#!/usr/bin/env python3
"""Start the NITRO simulator from any working directory: ``tests/nitro_simulator/run.py --help``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.nitro_simulator.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
