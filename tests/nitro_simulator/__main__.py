"""Entry point for ``python -m tests.nitro_simulator``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
