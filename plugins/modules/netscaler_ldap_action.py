#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler LDAP authentication action (authenticationldapaction)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_ldap_action
short_description: Manage a NetScaler LDAP authentication action
description:
  - Creates, updates or deletes an C(authenticationldapaction) through NITRO.
  - Each option sets the NITRO field of the same name; options left unset are not managed.
  - Point the action at the FactorGate pair (or at the load-balancing vserver in front of it) and raise
    O(authtimeout) above the time the second factor takes, because the bind waits for it.
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
    description: The diff shows only the attributes this task manages, never O(ldapbinddnpassword).
  idempotent:
    support: partial
    description: A second run with the same options changes nothing.
    details: Idempotent unless O(update_password=always), which writes the bind password on every run.
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
    description: IP address of the LDAP server (NITRO C(serverip)). Mutually exclusive with O(servername).
    type: str
  servername:
    description: Host name of the LDAP server (NITRO C(servername)).
    type: str
  serverport:
    description: TCP port of the LDAP server (NITRO C(serverport); NetScaler default 389).
    type: int
  authtimeout:
    description:
      - Seconds NetScaler waits for the LDAP server (NITRO C(authtimeout); NetScaler default 3).
      - With FactorGate this must exceed the second-factor wait, for example 65 for a 60-second phone call.
    type: int
  ldapbase:
    description: Base DN of user searches (NITRO C(ldapbase)).
    type: str
  ldapbinddn:
    description: DN of the service account that searches for users (NITRO C(ldapbinddn)).
    type: str
  ldapbinddnpassword:
    description:
      - Password of O(ldapbinddn) (NITRO C(ldapbinddnpassword)).
      - NITRO returns only an encrypted hash, so it is written on create, or on every run with O(update_password=always).
    type: str
  update_password:
    description:
      - V(on_create) writes O(ldapbinddnpassword) only when the action is created.
      - V(always) writes it on every run (the task then always reports a change).
    type: str
    choices: [on_create, always]
    default: on_create
  ldaploginname:
    description: Attribute matched against the user name (NITRO C(ldaploginname)), for example C(sAMAccountName).
    type: str
  searchfilter:
    description: Extra LDAP filter ANDed to the user search (NITRO C(searchfilter)).
    type: str
  groupattrname:
    description: Attribute holding group memberships (NITRO C(groupattrname)), for example C(memberOf).
    type: str
  subattributename:
    description: Sub-attribute of the group DN that names the group (NITRO C(subattributename)), for example C(cn).
    type: str
  sectype:
    description: Transport security towards the LDAP server (NITRO C(sectype)).
    type: str
    choices: [PLAINTEXT, TLS, SSL]
  svrtype:
    description: Directory type (NITRO C(svrtype)).
    type: str
    choices: [AD, NDS]
  ssonameattribute:
    description: Attribute used as the single sign-on name (NITRO C(ssonameattribute)).
    type: str
  passwdchange:
    description: Let users change an expired password through this action (NITRO C(passwdchange)).
    type: str
    choices: [ENABLED, DISABLED]
  validateservercert:
    description: Verify the LDAP server's certificate with O(sectype=SSL) or V(TLS) (NITRO C(validateservercert)).
    type: str
    choices: ['YES', 'NO']
  ldaphostname:
    description: Host name expected in the LDAP server's certificate (NITRO C(ldaphostname)).
    type: str
"""

EXAMPLES = r"""
- name: Point an LDAP action at the FactorGate load-balancing vserver
  factorgate.mfa.netscaler_ldap_action:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap
    serverip: 192.0.2.50
    serverport: 389
    authtimeout: 65
    ldapbase: DC=corp,DC=example,DC=test
    ldapbinddn: CN=svc-netscaler,OU=Service,DC=corp,DC=example,DC=test
    ldapbinddnpassword: "{{ vault_bind_password }}"
    ldaploginname: sAMAccountName
    groupattrname: memberOf
    subattributename: cn
    save_config: true

- name: Push a rotated bind password
  factorgate.mfa.netscaler_ldap_action:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate-ldap
    ldapbinddnpassword: "{{ vault_new_bind_password }}"
    update_password: always
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: authenticationldapaction
name:
  description: Name of the action.
  returned: always
  type: str
  sample: factorgate-ldap
secrets_written:
  description: Names of the secret fields this run sent (never their values).
  returned: when a secret was written
  type: list
  elements: str
  sample: [ldapbinddnpassword]
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
    resource="authenticationldapaction",
    numbers=frozenset({"serverport", "authtimeout"}),
    enums=frozenset({"sectype", "svrtype", "passwdchange", "validateservercert"}),
    secrets=frozenset({"ldapbinddnpassword"}),
    immutable=frozenset({"name"}),
    defaults={"serverport": 389, "authtimeout": 3, "sectype": "PLAINTEXT", "svrtype": "AD",
              "passwdchange": "DISABLED", "validateservercert": "NO"},
)

FIELDS = ("serverip", "servername", "serverport", "authtimeout", "ldapbase", "ldapbinddn", "ldapbinddnpassword",
          "ldaploginname", "searchfilter", "groupattrname", "subattributename", "sectype", "svrtype",
          "ssonameattribute", "passwdchange", "validateservercert", "ldaphostname")


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        serverip=dict(type="str"),
        servername=dict(type="str"),
        serverport=dict(type="int"),
        authtimeout=dict(type="int"),
        ldapbase=dict(type="str"),
        ldapbinddn=dict(type="str"),
        ldapbinddnpassword=dict(type="str", no_log=True),
        update_password=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        ldaploginname=dict(type="str"),
        searchfilter=dict(type="str"),
        groupattrname=dict(type="str"),
        subattributename=dict(type="str"),
        sectype=dict(type="str", choices=["PLAINTEXT", "TLS", "SSL"]),
        svrtype=dict(type="str", choices=["AD", "NDS"]),
        ssonameattribute=dict(type="str"),
        passwdchange=dict(type="str", choices=["ENABLED", "DISABLED"]),
        validateservercert=dict(type="str", choices=["YES", "NO"]),
        ldaphostname=dict(type="str"),
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
