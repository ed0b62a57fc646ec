#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler load-balancing vserver and its service group bindings."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_lb_vserver
short_description: Manage a NetScaler load-balancing vserver and its service groups
description:
  - Creates, updates or deletes an C(lbvserver), and makes its service group bindings
    (C(lbvserver_servicegroup_binding)) match O(servicegroups).
  - An authentication action pointed at this vserver sends each login to one healthy member, once.
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
    description: The diff shows the managed attributes and the bound service groups.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  name:
    description: Name of the vserver (NITRO C(name)).
    type: str
    required: true
  servicetype:
    description: Protocol (NITRO C(servicetype)). Required to create the vserver; NITRO cannot change it afterwards.
    type: str
    choices: [TCP, SSL_TCP, SSL_BRIDGE, RADIUS, UDP]
  state:
    description: Whether the vserver exists.
    type: str
    choices: [present, absent]
    default: present
  ipv46:
    description: Virtual IP address (NITRO C(ipv46)); the address the authentication action uses as C(serverip).
    type: str
  port:
    description: Port (NITRO C(port)).
    type: int
  lbmethod:
    description:
      - Load-balancing method (NITRO C(lbmethod)).
      - For RADIUS use V(TOKEN) with O(rule) C(CLIENT.UDP.RADIUS.USERNAME), so that a challenge and its answer reach the
        same node.
    type: str
    choices: [ROUNDROBIN, LEASTCONNECTION, LEASTRESPONSETIME, SOURCEIPHASH, TOKEN]
  rule:
    description: Expression of the V(TOKEN) method or of C(RULE) persistence (NITRO C(rule)).
    type: str
  persistencetype:
    description: Persistence (NITRO C(persistencetype)).
    type: str
    choices: [NONE, SOURCEIP, RULE]
  timeout:
    description: Minutes a persistence entry lasts (NITRO C(timeout)).
    type: int
  clttimeout:
    description: Idle seconds before a client connection is closed (NITRO C(clttimeout)).
    type: int
  servicegroups:
    description: Names of the service groups bound to the vserver; others are unbound. Unset leaves them alone.
    type: list
    elements: str
  comment:
    description: Free text (NITRO C(comment)).
    type: str
"""

EXAMPLES = r"""
- name: A non-addressable LDAP vserver in front of the FactorGate pair
  factorgate.mfa.netscaler_lb_vserver:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap
    servicetype: TCP
    ipv46: 192.0.2.50
    port: 389
    servicegroups: [factorgate-ldap]
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: lbvserver
name:
  description: Name of the vserver.
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
    BindingSchema,
    Schema,
    ensure_object,
    nitro_argument_spec,
    run_module,
    sync_bindings,
)

SCHEMA = Schema(
    resource="lbvserver",
    numbers=frozenset({"port", "timeout", "clttimeout"}),
    enums=frozenset({"servicetype", "lbmethod", "persistencetype"}),
    immutable=frozenset({"name", "servicetype"}),
)
SERVICEGROUPS = BindingSchema(resource="lbvserver_servicegroup_binding", parent_key="name", match_keys=("servicegroupname",))
FIELDS = ("servicetype", "ipv46", "port", "lbmethod", "rule", "persistencetype", "timeout", "clttimeout", "comment")


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        servicetype=dict(type="str", choices=["TCP", "SSL_TCP", "SSL_BRIDGE", "RADIUS", "UDP"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        ipv46=dict(type="str"),
        port=dict(type="int"),
        lbmethod=dict(type="str", choices=["ROUNDROBIN", "LEASTCONNECTION", "LEASTRESPONSETIME", "SOURCEIPHASH", "TOKEN"]),
        rule=dict(type="str"),
        persistencetype=dict(type="str", choices=["NONE", "SOURCEIP", "RULE"]),
        timeout=dict(type="int"),
        clttimeout=dict(type="int"),
        servicegroups=dict(type="list", elements="str"),
        comment=dict(type="str"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    params = module.params
    name = params["name"]
    desired = {"name": name}
    desired.update({field: params[field] for field in FIELDS})

    def work(client):
        vserver = ensure_object(client, SCHEMA, desired, params["state"])
        changed = vserver.changed
        before, after = {"lbvserver": vserver.before}, {"lbvserver": vserver.after}
        if params["state"] == "present" and params["servicegroups"] is not None:
            groups = [{"servicegroupname": group} for group in params["servicegroups"]]
            outcome = sync_bindings(client, SERVICEGROUPS, name, groups)
            changed = changed or outcome.changed
            before["servicegroups"] = [row["servicegroupname"] for row in outcome.before["bindings"]]
            after["servicegroups"] = sorted(params["servicegroups"])
        result = {"changed": changed, "resource": SCHEMA.resource, "name": name}
        if module._diff:
            result["diff"] = {"before": before, "after": after}
        return result

    run_module(module, work)


if __name__ == "__main__":
    main()
