#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage the basic settings of a NetScaler Gateway vserver."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_vpn_vserver
short_description: Manage the basic settings of a NetScaler Gateway vserver
description:
  - Creates, updates or deletes a C(vpnvserver) with the few settings a lab or the demo needs.
  - A production Gateway carries certificates, session policies and more that this module does not manage; create it
    with your usual tooling and let the other netscaler_* modules refer to it by name.
version_added: 0.1.0
author: FactorGate developers (@factorgate)
extends_documentation_fragment:
  - factorgate.mfa.nitro
attributes:
  check_mode:
    support: full
    description: Reads run in check mode, so the diff is the real one; no write is sent.
  diff_mode:
    support: full
    description: The diff shows only the attributes this task manages.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  name:
    description: Name of the Gateway vserver (NITRO C(name)).
    type: str
    required: true
  state:
    description: Whether the vserver exists.
    type: str
    choices: [present, absent]
    default: present
  ipv46:
    description: Address the Gateway listens on (NITRO C(ipv46)).
    type: str
  port:
    description: Port the Gateway listens on (NITRO C(port)).
    type: int
  authentication:
    description: Require authentication (NITRO C(authentication)).
    type: str
    choices: ['ON', 'OFF']
  comment:
    description: Free text (NITRO C(comment)).
    type: str
"""

EXAMPLES = r"""
- name: A Gateway vserver for a lab
  factorgate.mfa.netscaler_vpn_vserver:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: gateway
    ipv46: 192.0.2.60
    port: 443
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: vpnvserver
name:
  description: Name of the vserver.
  returned: always
  type: str
  sample: gateway
saved:
  description: Whether the running configuration was saved.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.factorgate.mfa.plugins.module_utils._nitro import (
    Schema,
    ensure_object,
    nitro_argument_spec,
    outcome_result,
    run_module,
)

SCHEMA = Schema(
    resource="vpnvserver",
    numbers=frozenset({"port"}),
    enums=frozenset({"authentication", "servicetype"}),
    immutable=frozenset({"name", "servicetype"}),
    defaults={"authentication": "ON"},
)


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        ipv46=dict(type="str"),
        port=dict(type="int"),
        authentication=dict(type="str", choices=["ON", "OFF"]),
        comment=dict(type="str"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    params = module.params
    desired = {"name": params["name"], "ipv46": params["ipv46"], "port": params["port"],
               "authentication": params["authentication"], "comment": params["comment"]}
    if params["state"] == "present":
        # SSL is the only service type of a Gateway vserver this module makes.
        desired["servicetype"] = "SSL"

    def work(client):
        outcome = ensure_object(client, SCHEMA, desired, params["state"])
        return outcome_result(module, outcome, SCHEMA.resource, params["name"])

    run_module(module, work)


if __name__ == "__main__":
    main()
