#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler LDAP or RADIUS load-balancing monitor that performs a real login."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_lb_monitor
short_description: Manage a NetScaler LDAP or RADIUS monitor that logs in with a test account
description:
  - Creates, updates or deletes an C(lbmonitor) of type V(LDAP) or V(RADIUS).
  - An V(LDAP) monitor binds as O(binddn) with O(password) and searches O(basedn) with O(filter); an V(RADIUS) monitor
    sends an Access-Request for O(username) with O(password) and O(radkey). Either way the node is up only while a real
    login through it succeeds, so a node whose directory connection is broken is taken out of the pool.
  - Time options are in seconds and are sent with the unit V(SEC); NetScaler may report them back in minutes
    (60 seconds as 1 minute), which the module treats as equal.
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
    description: The diff shows only the attributes this task manages, never O(password) or O(radkey).
  idempotent:
    support: partial
    description: A second run with the same options changes nothing.
    details: Idempotent unless O(update_password=always), which writes the secrets on every run.
options:
  name:
    description: Name of the monitor (NITRO C(monitorname)).
    type: str
    required: true
  type:
    description: Monitor type (NITRO C(type)). NITRO cannot change the type of an existing monitor.
    type: str
    choices: [LDAP, RADIUS]
    required: true
  state:
    description: Whether the monitor exists. NITRO refuses to delete a monitor that is still bound.
    type: str
    choices: [present, absent]
    default: present
  username:
    description: User name of the RADIUS test login (NITRO C(username)).
    type: str
  password:
    description:
      - Password of the test account (NITRO C(password)); for V(LDAP) the password of O(binddn).
      - The test account must be exempt from the second factor in FactorGate, or every probe starts a phone call.
    type: str
  radkey:
    description: RADIUS shared secret (NITRO C(radkey)).
    type: str
  update_password:
    description: V(on_create) writes O(password) and O(radkey) only on create; V(always) on every run.
    type: str
    choices: [on_create, always]
    default: on_create
  binddn:
    description: DN the V(LDAP) monitor binds as (NITRO C(binddn)).
    type: str
  basedn:
    description: Base DN the V(LDAP) monitor searches after the bind (NITRO C(basedn)).
    type: str
  filter:
    description: Filter of that search (NITRO C(filter)).
    type: str
  secure:
    description: Use TLS towards the node (NITRO C(secure)).
    type: str
    choices: ['YES', 'NO']
  interval:
    description: Seconds between probes (NITRO C(interval) with C(units3) V(SEC); NetScaler default 5).
    type: int
  resptimeout:
    description: Seconds a probe may take (NITRO C(resptimeout) with C(units4) V(SEC)); must be less than O(interval).
    type: int
  downtime:
    description: Seconds a failed node stays down before it is probed again (NITRO C(downtime) with C(units2) V(SEC)).
    type: int
  retries:
    description: Failed probes in a row that mark the node down (NITRO C(retries)).
    type: int
"""

EXAMPLES = r"""
- name: Check each FactorGate node with a real LDAP bind of an exempt service account
  factorgate.mfa.netscaler_lb_monitor:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap-login
    type: LDAP
    binddn: CN=svc-netscaler,OU=Service,DC=corp,DC=example,DC=test
    password: "{{ vault_bind_password }}"
    basedn: DC=corp,DC=example,DC=test
    filter: (sAMAccountName=svc-netscaler)
    interval: 10
    resptimeout: 5
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: lbmonitor
name:
  description: Name of the monitor.
  returned: always
  type: str
  sample: factorgate-ldap-login
secrets_written:
  description: Names of the secret fields this run sent (never their values).
  returned: when a secret was written
  type: list
  elements: str
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
    resource="lbmonitor",
    key="monitorname",
    numbers=frozenset({"interval", "resptimeout", "downtime", "retries"}),
    enums=frozenset({"type", "secure"}),
    secrets=frozenset({"password", "radkey"}),
    immutable=frozenset({"monitorname", "type"}),
    defaults={"interval": 5, "units3": "SEC", "resptimeout": 2, "units4": "SEC", "downtime": 30, "units2": "SEC",
              "retries": 3, "secure": "NO"},
    durations={"interval": "units3", "resptimeout": "units4", "downtime": "units2"},
    key_args=("type",),
)

FIELDS = ("type", "username", "password", "radkey", "binddn", "basedn", "filter", "secure", "interval", "resptimeout",
          "downtime", "retries")
UNITS = {"interval": "units3", "resptimeout": "units4", "downtime": "units2"}


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        type=dict(type="str", required=True, choices=["LDAP", "RADIUS"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        radkey=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        binddn=dict(type="str"),
        basedn=dict(type="str"),
        filter=dict(type="str"),
        secure=dict(type="str", choices=["YES", "NO"]),
        interval=dict(type="int"),
        resptimeout=dict(type="int"),
        downtime=dict(type="int"),
        retries=dict(type="int"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    params = module.params
    desired = {"monitorname": params["name"]}
    desired.update({field: params[field] for field in FIELDS})
    for field, unit in UNITS.items():
        if params[field] is not None:
            desired[unit] = "SEC"

    def work(client):
        outcome = ensure_object(client, SCHEMA, desired, params["state"], params["update_password"])
        return outcome_result(module, outcome, SCHEMA.resource, params["name"])

    run_module(module, work)


if __name__ == "__main__":
    main()
