#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manage a NetScaler Gateway portal theme, its login form title and its vserver binding."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_portal_theme
short_description: Manage a NetScaler Gateway portal theme and its login form title
description:
  - Creates a C(vpnportaltheme) from a base theme, optionally sets the title of the login form, and binds the theme
    to a Gateway vserver (C(vpnvserver_vpnportaltheme_binding)).
  - With O(state=absent) it unbinds the theme from O(vserver), if given, and deletes the theme.
version_added: 0.1.0
author: FactorGate developers (@factorgate)
extends_documentation_fragment:
  - factorgate.mfa.nitro
attributes:
  check_mode:
    support: full
    description: Reads run in check mode; for a theme that does not exist yet the title diff starts from nothing.
  diff_mode:
    support: full
    description: The diff shows the base theme, the login form title and the bound vserver.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  name:
    description: Name of the theme (NITRO C(name)). V(EULA) and V(Custom) are reserved by NetScaler.
    type: str
    required: true
  basetheme:
    description:
      - Theme the new theme copies (NITRO C(basetheme)). Required to create the theme.
      - V(RfWebUI) is the theme NetScaler recommends; V(X1) matches older Gateway set-ups. NITRO cannot change the
        base theme of an existing theme, so a different value fails; delete the theme first.
    type: str
    choices: [Default, Greenbubble, X1, RfWebUI]
  state:
    description: Whether the theme exists.
    type: str
    choices: [present, absent]
    default: present
  login_title:
    description:
      - Title of the login form, for example C(Please log on and wait for the phone call). Unset leaves the title alone.
      - See the notes for how it is written.
    type: str
  language:
    description: Language of the strings file whose title is set, for example V(en) or V(de).
    type: str
    default: en
  vserver:
    description:
      - Gateway vserver to bind the theme to (NITRO C(vpnvserver_vpnportaltheme_binding) C(name)). It must exist.
      - A vserver has one portal theme, so another theme bound to it is unbound first.
    type: str
notes:
  - NITRO has no attribute for the login form title. The module reads the theme's strings file through the
    C(systemfile) resource, changes only the title and keeps every other label byte for byte, then deletes the file and
    adds the new one, because C(systemfile) has no update.
  - For themes based on V(X1), V(Default) or V(Greenbubble) the file is
    C(/var/netscaler/logon/themes/<name>/resources/<language>.xml) and the title is its first C(<Title>) element.
    For V(RfWebUI) it is C(/var/netscaler/logon/themes/<name>/strings.<language>.json) and the title is the
    C(nsg-loginTitle) key.
  - These paths follow what the NetScaler GUI theme editor writes; NITRO does not document them. Check on your firmware
    that the portal shows the new title; some builds regenerate theme files only when the theme is saved in the GUI.
  - The alternative that NITRO documents is an nFactor login schema. Upload a login schema XML with your own label text
    through C(systemfile) to C(/nsconfig/loginschema/), create an C(authenticationloginschema) and a login schema policy,
    and bind them to an authentication vserver. That needs nFactor (an authentication vserver and an authentication
    profile on the Gateway), which this collection does not manage.
"""

EXAMPLES = r"""
- name: An RfWebUI theme that tells users to wait for the call
  factorgate.mfa.netscaler_portal_theme:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate
    basetheme: RfWebUI
    login_title: Please log on and wait for the phone call
    vserver: gateway

- name: Remove the theme from the Gateway and delete it
  factorgate.mfa.netscaler_portal_theme:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
    name: factorgate
    vserver: gateway
    state: absent
"""

RETURN = r"""
resource:
  description: NITRO resource type.
  returned: always
  type: str
  sample: vpnportaltheme
name:
  description: Name of the theme.
  returned: always
  type: str
  sample: factorgate
strings_file:
  description: Path of the strings file whose title the module manages.
  returned: when O(login_title) is set
  type: str
  sample: /var/netscaler/logon/themes/factorgate/strings.en.json
saved:
  description: Whether the running configuration was saved.
  returned: always
  type: bool
"""

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.factorgate.mfa.plugins.module_utils._nitro import (
    BindingSchema,
    ensure_binding,
    nitro_argument_spec,
    read_title,
    replace_title,
    run_module,
    strings_file,
)

THEME_BINDING = BindingSchema(resource="vpnvserver_vpnportaltheme_binding", parent_key="name", match_keys=("portaltheme",))


def build_argument_spec() -> dict:
    spec = nitro_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        basetheme=dict(type="str", choices=["Default", "Greenbubble", "X1", "RfWebUI"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        login_title=dict(type="str"),
        language=dict(type="str", default="en"),
        vserver=dict(type="str"),
    )
    return spec


class ThemeManager:
    """The steps of one run: theme, title, binding."""

    def __init__(self, module, client) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.before: dict = {}
        self.after: dict = {}
        self.result: dict = {"resource": "vpnportaltheme", "name": self.params["name"]}

    def run(self) -> dict:
        if self.params["vserver"]:
            self.require_vserver()
        theme = self.client.get_one("vpnportaltheme", self.params["name"])
        if self.params["state"] == "absent":
            self.remove(theme)
        else:
            basetheme = self.ensure_theme(theme)
            if self.params["login_title"] is not None:
                self.ensure_title(basetheme, exists=theme is not None)
            if self.params["vserver"]:
                self.ensure_bound()
        if self.module._diff:
            self.result["diff"] = {"before": self.before, "after": self.after}
        return self.result

    def require_vserver(self) -> None:
        if self.client.get_one("vpnvserver", self.params["vserver"]) is None:
            raise ValueError(
                "Gateway vserver %r not found on %s: create it first (netscaler_vpn_vserver) or correct vserver"
                % (self.params["vserver"], self.client.nsip)
            )

    def ensure_theme(self, theme: dict | None) -> str:
        wanted = self.params["basetheme"]
        if theme is None:
            if wanted is None:
                raise ValueError("portal theme %r does not exist: set basetheme to create it" % self.params["name"])
            self.client.write("POST", "vpnportaltheme", {"name": self.params["name"], "basetheme": wanted}, operation="add")
            self.after["basetheme"] = wanted
            return wanted
        current = theme.get("basetheme")
        self.before["basetheme"] = current
        self.after["basetheme"] = current
        if wanted is not None and str(current).lower() != wanted.lower():
            raise ValueError(
                "portal theme %r is based on %s, not %s, and NITRO cannot change a base theme: "
                "delete the theme first (state=absent) or choose another name" % (self.params["name"], current, wanted)
            )
        return str(current)

    def ensure_title(self, basetheme: str, exists: bool) -> None:
        title = self.params["login_title"]
        location, filename = strings_file(self.params["name"], basetheme, self.params["language"])
        self.result["strings_file"] = "%s/%s" % (location, filename)
        self.after["login_title"] = title
        if not exists and self.client.check_mode:
            return

        row = self.client.get_one("systemfile", filename, args={"filelocation": location})
        if row is None:
            raise ValueError(
                "strings file %s/%s of portal theme %r not found: set language to one the theme has, "
                "or leave login_title unset" % (location, filename, self.params["name"])
            )
        text = base64.b64decode(row.get("filecontent", "")).decode("utf-8")
        current = read_title(basetheme, text)
        self.before["login_title"] = current
        if current == title:
            return
        try:
            updated = replace_title(basetheme, text, title)
        except ValueError as error:
            raise ValueError("cannot set the login title of portal theme %r: %s" % (self.params["name"], error)) from None
        # systemfile has no update: delete, then add the new content.
        self.client.write("DELETE", "systemfile", name=filename, args={"filelocation": location}, operation="delete")
        payload = {
            "filename": filename,
            "filelocation": location,
            "filecontent": base64.b64encode(updated.encode("utf-8")).decode("ascii"),
            "fileencoding": "BASE64",
        }
        self.client.write("POST", "systemfile", payload, operation="add")

    def bound_themes(self) -> list:
        return self.client.get(THEME_BINDING.resource, self.params["vserver"])

    def ensure_bound(self) -> None:
        rows = self.bound_themes()
        self.before["vserver"] = self.params["vserver"] if any(row.get("portaltheme") == self.params["name"] for row in rows) else None
        self.after["vserver"] = self.params["vserver"]
        for row in rows:
            if row.get("portaltheme") != self.params["name"]:
                ensure_binding(self.client, THEME_BINDING, {"name": self.params["vserver"], "portaltheme": row["portaltheme"]}, "absent", rows)
        desired = {"name": self.params["vserver"], "portaltheme": self.params["name"]}
        ensure_binding(self.client, THEME_BINDING, desired, "present", rows)

    def remove(self, theme: dict | None) -> None:
        if theme is None:
            return
        self.before["basetheme"] = theme.get("basetheme")
        if self.params["vserver"]:
            desired = {"name": self.params["vserver"], "portaltheme": self.params["name"]}
            ensure_binding(self.client, THEME_BINDING, desired, "absent")
        self.client.write("DELETE", "vpnportaltheme", name=self.params["name"], operation="delete")


def main() -> None:
    module = AnsibleModule(argument_spec=build_argument_spec(), supports_check_mode=True)
    run_module(module, lambda client: ThemeManager(module, client).run())


if __name__ == "__main__":
    main()
