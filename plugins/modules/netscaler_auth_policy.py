#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler authentication policy, advanced or classic."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_auth_policy
short_description: Manage a NetScaler authentication policy
description:
  - Creates, updates or deletes an authentication policy that sends matching logins to an LDAP or RADIUS action.
  - By default an advanced policy (NITRO C(authenticationpolicy)), which NetScaler recommends since 12.0.
  - With O(policy_type=classic_ldap) or V(classic_radius), a classic C(authenticationldappolicy) or
    C(authenticationradiuspolicy), which NetScaler has deprecated but still serves in 14.1.
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
    description: Name of the policy (NITRO C(name)).
    type: str
    required: true
  state:
    description: Whether the policy exists. NITRO refuses to delete a policy that is still bound.
    type: str
    choices: [present, absent]
    default: present
  policy_type:
    description:
      - V(advanced) manages C(authenticationpolicy); V(classic_ldap) manages C(authenticationldappolicy);
        V(classic_radius) manages C(authenticationradiuspolicy).
      - A Gateway vserver takes either classic or advanced authentication policies, not both.
    type: str
    choices: [advanced, classic_ldap, classic_radius]
    default: advanced
  rule:
    description:
      - Expression that selects the logins (NITRO C(rule)).
      - Defaults to V(true) for advanced policies and V(ns_true) for classic ones, so every login matches.
    type: str
  action:
    description:
      - Name of the LDAP or RADIUS action (NITRO C(action) for advanced policies, C(reqaction) for classic ones).
      - Required when the policy is created.
    type: str
  comment:
    description: Free text (NITRO C(comment)); advanced policies only.
    type: str
"""

EXAMPLES = r"""
- name: Send every Gateway login to the FactorGate LDAP action
  factorgate.mfa.netscaler_auth_policy:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap
    action: factorgate-ldap

- name: A classic RADIUS policy for an older Gateway configuration
  factorgate.mfa.netscaler_auth_policy:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-radius-classic
    policy_type: classic_radius
    action: factorgate-radius
"""

RETURN = r"""
resource:
  description: NITRO resource type that was managed.
  returned: always
  type: str
  sample: authenticationpolicy
name:
  description: Name of the policy.
  returned: always
  type: str
  sample: factorgate-ldap
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

RESOURCES = {
    "advanced": ("authenticationpolicy", "action", "true"),
    "classic_ldap": ("authenticationldappolicy", "reqaction", "ns_true"),
    "classic_radius": ("authenticationradiuspolicy", "reqaction", "ns_true"),
}


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        policy_type=dict(type="str", default="advanced", choices=list(RESOURCES)),
        rule=dict(type="str"),
        action=dict(type="str"),
        comment=dict(type="str"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    params = module.params
    resource, action_field, default_rule = RESOURCES[params["policy_type"]]
    if params["comment"] is not None and params["policy_type"] != "advanced":
        module.fail_json(msg="netscaler_auth_policy %r: comment exists only on advanced policies; remove it or use policy_type=advanced." % params["name"])

    schema = Schema(resource=resource, immutable=frozenset({"name"}))
    desired = {"name": params["name"], "rule": params["rule"] or default_rule, action_field: params["action"]}
    if params["policy_type"] == "advanced":
        desired["comment"] = params["comment"]

    def work(client):
        outcome = ensure_object(client, schema, desired, params["state"])
        return outcome_result(module, outcome, resource, params["name"])

    run_module(module, work)


if __name__ == "__main__":
    main()
