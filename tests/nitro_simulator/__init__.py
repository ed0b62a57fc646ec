"""A NetScaler NITRO 14.1 API simulator for FactorGate's tests and demo.

It serves ``/nitro/v1/config/...`` for the resources the ``netscaler_*``
modules manage and follows NITRO's documented status codes, error codes and
GET shapes. See docs/nitro-simulator.md for what is modelled and which
behaviours are inferred.
"""

from __future__ import annotations

from .server import NitroSimulator, SimulatorConfig

__all__ = ["NitroSimulator", "SimulatorConfig"]
