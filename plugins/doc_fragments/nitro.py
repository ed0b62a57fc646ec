# Copyright: FactorGate developers
# Apache License 2.0 (see galaxy.yml)
"""Connection options of the factorgate.mfa netscaler_* modules."""

from __future__ import annotations


class ModuleDocFragment:
    """The NITRO connection options; the argument spec is nitro_argument_spec() in _nitro.py."""

    DOCUMENTATION = r"""
options:
  nsip:
    description:
      - Address or host name of the NetScaler management interface (NSIP), optionally with C(:port).
      - Falls back to the environment variable E(NETSCALER_NSIP).
    type: str
    required: true
  nitro_user:
    description:
      - NITRO user name. Falls back to E(NETSCALER_NITRO_USER).
    type: str
    default: nsroot
  nitro_pass:
    description:
      - Password of O(nitro_user). Falls back to E(NETSCALER_NITRO_PASS).
      - Required unless O(nitro_auth_token) is set. It never appears in results, diffs or errors.
    type: str
  nitro_protocol:
    description:
      - Protocol of the NITRO API. Use V(https) outside a lab, because the credentials travel with every session login.
    type: str
    choices: [http, https]
    default: https
  validate_certs:
    description:
      - Verify the NSIP's TLS certificate when O(nitro_protocol=https).
    type: bool
    default: true
  nitro_timeout:
    description:
      - Seconds to wait for each NITRO request, login included, before failing with a timeout.
    type: float
    default: 30.0
  nitro_auth_token:
    description:
      - A NITRO session id from an earlier C(POST /nitro/v1/config/login), sent as the C(NITRO_AUTH_TOKEN) cookie.
      - The module then neither logs in nor logs out. Falls back to E(NETSCALER_NITRO_AUTH_TOKEN).
    type: str
  save_config:
    description:
      - Save the running configuration (C(save ns config)) after this task, but only when the task changed something.
    type: bool
    default: false
notes:
  - Check-mode runs read with per-request header credentials and leave no login session behind; other runs log in once
    and log out at the end, unless O(nitro_auth_token) is given.
  - A session that expires during a run (NITRO errorcode 444 or 1027) is renewed once by logging in again.
"""
