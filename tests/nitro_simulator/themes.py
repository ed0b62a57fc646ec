"""Files the appliance writes when a portal theme is added.

NOTE: the paths and contents are inferred, not documented by NITRO. Themes
live under ``/var/netscaler/logon/themes/<theme>/`` (seen for the GUI theme
editor, for example ``themes/EULA/resources/en.xml``). X1, Default and
Greenbubble themes keep their labels in XML resource files per language under
``resources/``; RfWebUI themes keep them in ``strings.<lang>.json`` at the theme
root next to ``css/custom.css``. The file bodies below are realistic stand-ins
with the labels a FactorGate deployment changes (the logon form title and the
field prompts), not copies of Citrix files.
"""

from __future__ import annotations

import json

THEMES_ROOT = "/var/netscaler/logon/themes"

_X1_STRINGS = """<?xml version="1.0" encoding="UTF-8"?>
<resources lang="en">
  <Partition id="logon">
    <Title>Please log on</Title>
    <String id="UserName">User name</String>
    <String id="Password">Password:</String>
    <String id="Password2">Password 2:</String>
    <String id="Logon">Log On</String>
    <String id="LogonTitle">NetScaler Gateway</String>
  </Partition>
  <Partition id="portal">
    <String id="Welcome">Welcome</String>
    <String id="Logoff">Log Off</String>
  </Partition>
</resources>
"""

_RFWEBUI_STRINGS = {
    "nsg-loginTitle": "Please log on",
    "nsg-username": "User name",
    "nsg-password": "Password",
    "nsg-password2": "Password 2",
    "nsg-logonButton": "Log On",
    "nsg-epa-success": "Your device is compliant",
}

_CUSTOM_CSS = "/* Custom styles for this theme. */\n"


def theme_files(theme: str, basetheme: str) -> list[tuple[str, str, bytes]]:
    """Return the (filelocation, filename, content) triples a new theme gets."""
    root = f"{THEMES_ROOT}/{theme}"
    if basetheme == "RfWebUI":
        strings = json.dumps(_RFWEBUI_STRINGS, indent=2) + "\n"
        return [
            (root, "strings.en.json", strings.encode()),
            (f"{root}/css", "custom.css", _CUSTOM_CSS.encode()),
            (root, "script.js", b"// Custom script for this theme.\n"),
        ]
    return [
        (f"{root}/resources", "en.xml", _X1_STRINGS.encode()),
        (f"{root}/css", "custom.css", _CUSTOM_CSS.encode()),
    ]
