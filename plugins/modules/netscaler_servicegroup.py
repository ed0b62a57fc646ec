#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler service group with its members and monitors."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_servicegroup
short_description: Manage a NetScaler service group, its members and its monitors
description:
  - Creates, updates or deletes a C(servicegroup), and makes its member bindings
    (C(servicegroup_servicegroupmember_binding)) and monitor bindings (C(servicegroup_lbmonitor_binding)) match the
    lists given.
  - NITRO cannot update a binding, so a member whose weight changes is unbound and bound again.
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
    description: The diff shows the managed attributes, the members and the monitors.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  name:
    description: Name of the service group (NITRO C(servicegroupname)).
    type: str
    required: true
  servicetype:
    description:
      - Protocol (NITRO C(servicetype)); V(TCP) or V(SSL_TCP) for LDAP and LDAPS, V(RADIUS) for RADIUS.
      - Required to create the group; NITRO cannot change it afterwards.
    type: str
    choices: [TCP, SSL_TCP, SSL_BRIDGE, RADIUS, UDP]
  state:
    description: Whether the service group exists. Deleting it also removes its binding to a load-balancing vserver.
    type: str
    choices: [present, absent]
    default: present
  members:
    description:
      - Members (C(servicegroup_servicegroupmember_binding)). With O(purge_members=true) other members are unbound.
      - Unset leaves the members alone.
    type: list
    elements: dict
    suboptions:
      ip:
        description: Address of the member (NITRO C(ip)).
        type: str
        required: true
      port:
        description: Port of the member (NITRO C(port)).
        type: int
        required: true
      weight:
        description: Load-balancing weight (NITRO C(weight), 1 to 100).
        type: int
  purge_members:
    description: Unbind members that are not in O(members).
    type: bool
    default: true
  monitors:
    description:
      - Names of monitors bound to the group (NITRO C(servicegroup_lbmonitor_binding) C(monitor_name)); others are unbound.
      - Unset leaves the monitors alone.
    type: list
    elements: str
  clttimeout:
    description: Idle seconds before a client connection is closed (NITRO C(clttimeout)).
    type: int
  svrtimeout:
    description: Idle seconds before a server connection is closed (NITRO C(svrtimeout)).
    type: int
  comment:
    description: Free text (NITRO C(comment)).
    type: str
"""

EXAMPLES = r"""
- name: The FactorGate pair as one LDAP service group, checked by a login monitor
  factorgate.mfa.netscaler_servicegroup:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap
    servicetype: TCP
    members:
      - {ip: 192.0.2.11, port: 389}
      - {ip: 192.0.2.12, port: 389}
    monitors: [factorgate-ldap-login]
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: servicegroup
name:
  description: Name of the service group.
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
    resource="servicegroup",
    key="servicegroupname",
    numbers=frozenset({"clttimeout", "svrtimeout"}),
    enums=frozenset({"servicetype"}),
    immutable=frozenset({"servicegroupname", "servicetype"}),
)
MEMBERS = BindingSchema(
    resource="servicegroup_servicegroupmember_binding",
    parent_key="servicegroupname",
    match_keys=("ip", "port"),
    numbers=frozenset({"port", "weight"}),
    defaults={"weight": 1},
)
MONITORS = BindingSchema(resource="servicegroup_lbmonitor_binding", parent_key="servicegroupname", match_keys=("monitor_name",))


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        servicetype=dict(type="str", choices=["TCP", "SSL_TCP", "SSL_BRIDGE", "RADIUS", "UDP"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        members=dict(type="list", elements="dict", options=dict(
            ip=dict(type="str", required=True),
            port=dict(type="int", required=True),
            weight=dict(type="int"),
        )),
        purge_members=dict(type="bool", default=True),
        monitors=dict(type="list", elements="str"),
        clttimeout=dict(type="int"),
        svrtimeout=dict(type="int"),
        comment=dict(type="str"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    params = module.params
    name = params["name"]
    desired = {"servicegroupname": name, "servicetype": params["servicetype"], "clttimeout": params["clttimeout"],
               "svrtimeout": params["svrtimeout"], "comment": params["comment"]}

    def work(client):
        group = ensure_object(client, SCHEMA, desired, params["state"])
        changed = group.changed
        before, after = {"servicegroup": group.before}, {"servicegroup": group.after}
        if params["state"] == "present" and params["members"] is not None:
            members = [dict(member) for member in params["members"]]
            outcome = sync_bindings(client, MEMBERS, name, members, params["purge_members"])
            changed = changed or outcome.changed
            before["members"], after["members"] = outcome.before.get("bindings", []), outcome.after.get("bindings", [])
        if params["state"] == "present" and params["monitors"] is not None:
            monitors = [{"monitor_name": monitor} for monitor in params["monitors"]]
            outcome = sync_bindings(client, MONITORS, name, monitors, True)
            changed = changed or outcome.changed
            before["monitors"], after["monitors"] = outcome.before.get("bindings", []), outcome.after.get("bindings", [])
        result = {"changed": changed, "resource": SCHEMA.resource, "name": name}
        if module._diff:
            result["diff"] = {"before": before, "after": after}
        return result

    run_module(module, work)


if __name__ == "__main__":
    main()
