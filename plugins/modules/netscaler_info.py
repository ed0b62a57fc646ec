#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the NetScaler objects that the factorgate.mfa modules manage."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_info
short_description: Read the NetScaler objects that the factorgate.mfa modules manage
description:
  - Returns the NITRO objects and bindings behind a FactorGate Gateway set-up, for checks and verification.
  - Reads only, with per-request header credentials, so it leaves no login session behind.
  - Encrypted secrets that NITRO returns (bind passwords, RADIUS keys, monitor passwords) are removed.
version_added: 0.1.0
author: FactorGate developers (@factorgate)
extends_documentation_fragment:
  - factorgate.mfa.nitro
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: The module changes nothing.
  idempotent:
    support: full
    description: The module changes nothing.
options:
  gather:
    description: Which groups of objects to read.
    type: list
    elements: str
    choices: [version, ldap_actions, radius_actions, policies, vpn_vservers, portal_themes, lb_vservers, servicegroups, monitors]
    default: [version, ldap_actions, radius_actions, policies, vpn_vservers, portal_themes, lb_vservers, servicegroups, monitors]
  vserver:
    description: A Gateway vserver whose bindings (policies, portal theme) to read into RV(netscaler.vserver_bindings).
    type: str
  theme_language:
    description: Language of the strings file whose login title RV(netscaler.portal_themes) reports.
    type: str
    default: en
"""

EXAMPLES = r"""
- name: Read what the Gateway uses
  factorgate.mfa.netscaler_info:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    vserver: gateway
  register: netscaler

- name: Check the LDAP action waits long enough for the phone call
  ansible.builtin.assert:
    that: (netscaler.netscaler.ldap_actions | selectattr('name', 'eq', 'factorgate-ldap') | first).authtimeout | int >= 65
"""

RETURN = r"""
netscaler:
  description: The objects read, keyed by group; each list holds NITRO's GET rows without secrets.
  returned: always
  type: dict
  contains:
    version:
      description: NITRO C(nsversion) C(version) string.
      type: str
      returned: when V(version) is gathered
    ldap_actions:
      description: C(authenticationldapaction) rows.
      type: list
      elements: dict
      returned: when V(ldap_actions) is gathered
    radius_actions:
      description: C(authenticationradiusaction) rows.
      type: list
      elements: dict
      returned: when V(radius_actions) is gathered
    policies:
      description: Rows of C(authenticationpolicy), C(authenticationldappolicy) and C(authenticationradiuspolicy), each with C(resource).
      type: list
      elements: dict
      returned: when V(policies) is gathered
    vpn_vservers:
      description: C(vpnvserver) rows.
      type: list
      elements: dict
      returned: when V(vpn_vservers) is gathered
    portal_themes:
      description: C(vpnportaltheme) rows, each with C(login_title) read from its strings file (null when unreadable).
      type: list
      elements: dict
      returned: when V(portal_themes) is gathered
    lb_vservers:
      description: C(lbvserver) rows, each with C(servicegroups), the names bound to it.
      type: list
      elements: dict
      returned: when V(lb_vservers) is gathered
    servicegroups:
      description: C(servicegroup) rows, each with C(members) (ip, port, weight) and C(monitors) (names).
      type: list
      elements: dict
      returned: when V(servicegroups) is gathered
    monitors:
      description: C(lbmonitor) rows of type LDAP and RADIUS.
      type: list
      elements: dict
      returned: when V(monitors) is gathered
    vserver_bindings:
      description: The C(vpnvserver_binding) row of O(vserver), with one list per binding type.
      type: dict
      returned: when O(vserver) is set
"""

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.factorgate.mfa.plugins.module_utils._nitro import (
    NitroError,
    nitro_argument_spec,
    read_title,
    run_module,
    strings_file,
)

SECRET_FIELDS = frozenset({"ldapbinddnpassword", "radkey", "password", "secondarypassword", "filecontent"})
GROUPS = ["version", "ldap_actions", "radius_actions", "policies", "vpn_vservers", "portal_themes", "lb_vservers",
          "servicegroups", "monitors"]
SIMPLE = {
    "ldap_actions": "authenticationldapaction",
    "radius_actions": "authenticationradiusaction",
    "vpn_vservers": "vpnvserver",
}
POLICY_RESOURCES = ("authenticationpolicy", "authenticationldappolicy", "authenticationradiuspolicy")


def scrub(row: dict) -> dict:
    """Drop encrypted secrets from a GET row."""
    return {key: value for key, value in row.items() if key not in SECRET_FIELDS}


def read_all(client, resource: str) -> list:
    return [scrub(row) for row in client.get(resource)]


def read_policies(client) -> list:
    rows = []
    for resource in POLICY_RESOURCES:
        rows += [dict(row, resource=resource) for row in read_all(client, resource)]
    return rows


def read_login_title(client, theme: dict, language: str):
    location, filename = strings_file(theme["name"], str(theme.get("basetheme")), language)
    try:
        row = client.get_one("systemfile", filename, args={"filelocation": location})
        if row is None:
            return None
        return read_title(str(theme.get("basetheme")), base64.b64decode(row.get("filecontent", "")).decode("utf-8"))
    except (NitroError, ValueError):
        return None


def read_themes(client, language: str) -> list:
    themes = read_all(client, "vpnportaltheme")
    for theme in themes:
        theme["login_title"] = read_login_title(client, theme, language)
    return themes


def read_lb_vservers(client) -> list:
    vservers = read_all(client, "lbvserver")
    for vserver in vservers:
        rows = client.get("lbvserver_servicegroup_binding", vserver["name"])
        vserver["servicegroups"] = sorted(row["servicegroupname"] for row in rows)
    return vservers


def read_servicegroups(client) -> list:
    groups = read_all(client, "servicegroup")
    for group in groups:
        name = group["servicegroupname"]
        members = client.get("servicegroup_servicegroupmember_binding", name)
        group["members"] = [{"ip": row.get("ip"), "port": row.get("port"), "weight": row.get("weight")} for row in members]
        group["monitors"] = sorted(row["monitor_name"] for row in client.get("servicegroup_lbmonitor_binding", name))
    return groups


def read_monitors(client) -> list:
    return [row for row in read_all(client, "lbmonitor") if row.get("type") in ("LDAP", "RADIUS")]


def gather(client, params: dict) -> dict:
    facts: dict = {}
    readers = {
        "version": lambda: (client.get("nsversion") or [{}])[0].get("version"),
        "policies": lambda: read_policies(client),
        "portal_themes": lambda: read_themes(client, params["theme_language"]),
        "lb_vservers": lambda: read_lb_vservers(client),
        "servicegroups": lambda: read_servicegroups(client),
        "monitors": lambda: read_monitors(client),
    }
    for group in params["gather"]:
        if group in SIMPLE:
            facts[group] = read_all(client, SIMPLE[group])
        else:
            facts[group] = readers[group]()
    if params["vserver"]:
        rows = client.get("vpnvserver_binding", params["vserver"])
        if not rows:
            raise ValueError("Gateway vserver %r not found on %s: correct the vserver name" % (params["vserver"], client.nsip))
        facts["vserver_bindings"] = rows[0]
    return {"changed": False, "netscaler": facts}


def main() -> None:
    spec = nitro_argument_spec()
    spec.update(
        gather=dict(type="list", elements="str", choices=GROUPS, default=list(GROUPS)),
        vserver=dict(type="str"),
        theme_language=dict(type="str", default="en"),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    run_module(module, lambda client: gather(client, module.params), read_only=True)


if __name__ == "__main__":
    main()
