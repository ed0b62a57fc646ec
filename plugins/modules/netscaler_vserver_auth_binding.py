#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bind an authentication policy to a NetScaler Gateway vserver."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_vserver_auth_binding
short_description: Bind an authentication policy to a NetScaler Gateway vserver
description:
  - Manages one C(vpnvserver_authenticationpolicy_binding) (advanced policies), C(vpnvserver_authenticationldappolicy_binding)
    or C(vpnvserver_authenticationradiuspolicy_binding) (classic policies).
  - A binding is identified by its whole key, the policy together with O(secondary), O(groupextraction) and O(bindpoint),
    as NITRO identifies it. Bindings of the same policy with another key are left alone.
  - NITRO cannot update a binding, so a changed O(priority) or O(gotopriorityexpression) is applied by unbinding and binding again.
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
    description: The diff shows the binding as it is and as it will be.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  vserver:
    description: Name of the Gateway vserver (NITRO C(name)). It must exist.
    type: str
    required: true
  policy:
    description: Name of the authentication policy (NITRO C(policy)).
    type: str
    required: true
  policy_type:
    description: Kind of policy, which selects the binding resource; see M(factorgate.mfa.netscaler_auth_policy).
    type: str
    choices: [advanced, classic_ldap, classic_radius]
    default: advanced
  state:
    description: Whether the binding exists.
    type: str
    choices: [present, absent]
    default: present
  priority:
    description:
      - Evaluation order, lowest first (NITRO C(priority)). Required to bind.
    type: int
  secondary:
    description: Bind as a secondary (second-password) policy (NITRO C(secondary)). Part of the binding key.
    type: bool
    default: false
  groupextraction:
    description: Bind as a group-extraction policy (NITRO C(groupextraction)). Part of the binding key.
    type: bool
    default: false
  bindpoint:
    description: Bind point (NITRO C(bindpoint)). Part of the binding key; leave unset for authentication.
    type: str
    choices: [REQUEST, RESPONSE, ICA_REQUEST, OTHERTCP_REQUEST, AAA_REQUEST]
  gotopriorityexpression:
    description: What to evaluate after this policy (NITRO C(gotopriorityexpression)), for example V(NEXT) or V(END).
    type: str
"""

EXAMPLES = r"""
- name: Authenticate Gateway logins with the FactorGate policy
  factorgate.mfa.netscaler_vserver_auth_binding:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    vserver: gateway
    policy: factorgate-ldap
    priority: 100
    save_config: true
"""

RETURN = r"""
resource:
  description: NITRO binding resource type.
  returned: always
  type: str
  sample: vpnvserver_authenticationpolicy_binding
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
    BindingSchema,
    ensure_binding,
    nitro_argument_spec,
    outcome_result,
    run_module,
)

RESOURCES = {
    "advanced": "vpnvserver_authenticationpolicy_binding",
    "classic_ldap": "vpnvserver_authenticationldappolicy_binding",
    "classic_radius": "vpnvserver_authenticationradiuspolicy_binding",
}


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        vserver=dict(type="str", required=True),
        policy=dict(type="str", required=True),
        policy_type=dict(type="str", default="advanced", choices=list(RESOURCES)),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        priority=dict(type="int"),
        secondary=dict(type="bool", default=False),
        groupextraction=dict(type="bool", default=False),
        bindpoint=dict(type="str", choices=["REQUEST", "RESPONSE", "ICA_REQUEST", "OTHERTCP_REQUEST", "AAA_REQUEST"]),
        gotopriorityexpression=dict(type="str"),
    )
    return spec


def require_vserver(client, name: str) -> None:
    """Raise a readable error when the Gateway vserver does not exist."""
    if client.get_one("vpnvserver", name) is None:
        raise ValueError(
            "Gateway vserver %r not found on %s: create it first (netscaler_vpn_vserver) or correct the vserver name" % (name, client.nsip)
        )


def main() -> None:
    module = AnsibleModule(
        argument_spec=build_argument_spec(),
        required_if=[("state", "present", ("priority",))],
        supports_check_mode=True,
    )
    params = module.params
    schema = BindingSchema(
        resource=RESOURCES[params["policy_type"]],
        parent_key="name",
        match_keys=("policy", "secondary", "groupextraction", "bindpoint"),
        numbers=frozenset({"priority"}),
        defaults={"secondary": False, "groupextraction": False},
    )
    desired = {
        "name": params["vserver"],
        "policy": params["policy"],
        "priority": params["priority"],
        "gotopriorityexpression": params["gotopriorityexpression"],
        "bindpoint": params["bindpoint"],
        # NITRO reports these flags only when they were set, so send only True.
        "secondary": True if params["secondary"] else None,
        "groupextraction": True if params["groupextraction"] else None,
    }

    def work(client):
        require_vserver(client, params["vserver"])
        outcome = ensure_binding(client, schema, desired, params["state"])
        return outcome_result(module, outcome, schema.resource, params["vserver"])

    run_module(module, work)


if __name__ == "__main__":
    main()
