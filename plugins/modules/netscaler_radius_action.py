#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler RADIUS authentication action (authenticationradiusaction)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_radius_action
short_description: Manage a NetScaler RADIUS authentication action
description:
  - Creates, updates or deletes an C(authenticationradiusaction) through NITRO.
  - Each option sets the NITRO field of the same name; options left unset are not managed.
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
    description: The diff shows only the attributes this task manages, never O(radkey).
  idempotent:
    support: partial
    description: A second run with the same options changes nothing.
    details: Idempotent unless O(update_password=always), which writes the shared secret on every run.
options:
  name:
    description: Name of the action (NITRO C(name)); it cannot be renamed.
    type: str
    required: true
  state:
    description: Whether the action exists.
    type: str
    choices: [present, absent]
    default: present
  serverip:
    description: IP address of the RADIUS server (NITRO C(serverip)). Mutually exclusive with O(servername).
    type: str
  servername:
    description: Host name of the RADIUS server (NITRO C(servername)).
    type: str
  serverport:
    description: UDP port of the RADIUS server (NITRO C(serverport); 1812 if unset).
    type: int
  authtimeout:
    description:
      - Seconds NetScaler waits for an answer (NITRO C(authtimeout); NetScaler default 3).
      - With FactorGate this must exceed the second-factor wait.
    type: int
  radkey:
    description:
      - Shared secret (NITRO C(radkey)). Required to create the action.
      - NITRO returns only an encrypted hash, so it is written on create, or on every run with O(update_password=always).
    type: str
  update_password:
    description:
      - V(on_create) writes O(radkey) only when the action is created; V(always) writes it on every run.
    type: str
    choices: [on_create, always]
    default: on_create
  radnasip:
    description: Send the NetScaler's address as NAS-IP-Address (NITRO C(radnasip)).
    type: str
    choices: [ENABLED, DISABLED]
  radnasid:
    description: NAS-Identifier sent with each request (NITRO C(radnasid)).
    type: str
  passencoding:
    description: How the password is encoded (NITRO C(passencoding)). FactorGate expects V(pap).
    type: str
    choices: [pap, chap, mschapv1, mschapv2]
  authservretry:
    description:
      - Number of attempts NetScaler makes before giving up on the server (NITRO C(authservretry), 1 to 10, default 3).
      - Every attempt after a timeout can start another second factor; keep it at V(1) in front of FactorGate.
    type: int
  messageauthenticator:
    description:
      - Send and require the Message-Authenticator attribute (NITRO C(messageauthenticator); default ON).
      - FactorGate requires it, because it protects Access-Request against forgery.
    type: str
    choices: ['ON', 'OFF']
  transport:
    description: Transport towards the RADIUS server (NITRO C(transport)).
    type: str
    choices: [UDP, TCP, TLS]
  radgroupsprefix:
    description: Prefix of the group names in the RADIUS reply (NITRO C(radgroupsprefix)).
    type: str
  radgroupseparator:
    description: Separator of the group names (NITRO C(radgroupseparator)).
    type: str
  radvendorid:
    description: Vendor id of the group attribute (NITRO C(radvendorid)).
    type: int
  radattributetype:
    description: Attribute type of the group attribute (NITRO C(radattributetype)).
    type: int
"""

EXAMPLES = r"""
- name: Point a RADIUS action at the FactorGate load-balancing vserver
  factorgate.mfa.netscaler_radius_action:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-radius
    serverip: 192.0.2.50
    serverport: 1812
    radkey: "{{ vault_radius_secret }}"
    authtimeout: 65
    authservretry: 1
    messageauthenticator: "ON"
    passencoding: pap
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: authenticationradiusaction
name:
  description: Name of the action.
  returned: always
  type: str
  sample: factorgate-radius
secrets_written:
  description: Names of the secret fields this run sent (never their values).
  returned: when a secret was written
  type: list
  elements: str
  sample: [radkey]
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
    resource="authenticationradiusaction",
    numbers=frozenset({"serverport", "authtimeout", "authservretry", "radvendorid", "radattributetype"}),
    enums=frozenset({"radnasip", "passencoding", "messageauthenticator", "transport"}),
    secrets=frozenset({"radkey"}),
    immutable=frozenset({"name"}),
    defaults={"serverport": 1812, "authtimeout": 3, "authservretry": 3, "passencoding": "pap",
              "messageauthenticator": "ON", "transport": "UDP"},
)

FIELDS = ("serverip", "servername", "serverport", "authtimeout", "radkey", "radnasip", "radnasid", "passencoding",
          "authservretry", "messageauthenticator", "transport", "radgroupsprefix", "radgroupseparator",
          "radvendorid", "radattributetype")


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        serverip=dict(type="str"),
        servername=dict(type="str"),
        serverport=dict(type="int"),
        authtimeout=dict(type="int"),
        radkey=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        radnasip=dict(type="str", choices=["ENABLED", "DISABLED"]),
        radnasid=dict(type="str"),
        passencoding=dict(type="str", choices=["pap", "chap", "mschapv1", "mschapv2"]),
        authservretry=dict(type="int"),
        messageauthenticator=dict(type="str", choices=["ON", "OFF"]),
        transport=dict(type="str", choices=["UDP", "TCP", "TLS"]),
        radgroupsprefix=dict(type="str"),
        radgroupseparator=dict(type="str"),
        radvendorid=dict(type="int"),
        radattributetype=dict(type="int"),
    )
    return spec


def main() -> None:
    module = AnsibleModule(
        argument_spec=build_argument_spec(),
        mutually_exclusive=[("serverip", "servername")],
        supports_check_mode=True,
    )
    params = module.params
    desired = {"name": params["name"]}
    desired.update({field: params[field] for field in FIELDS})

    def work(client):
        outcome = ensure_object(client, SCHEMA, desired, params["state"], params["update_password"])
        return outcome_result(module, outcome, SCHEMA.resource, params["name"])

    run_module(module, work)


if __name__ == "__main__":
    main()
