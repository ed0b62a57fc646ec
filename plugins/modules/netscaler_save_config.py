#!/usr/bin/python
# Copyright: FactorGate developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Save the NetScaler running configuration."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netscaler_save_config
short_description: Save the NetScaler running configuration
description:
  - Saves the running configuration (NITRO C(POST nsconfig?action=save), the CLI's C(save ns config)).
  - A save is a write, so the task always reports a change. To save only when something changed, call this module from
    a handler that the configuring tasks notify, or set O(save_config=true) on each of them.
version_added: 0.1.0
author: FactorGate developers (@factorgate)
extends_documentation_fragment:
  - factorgate.mfa.nitro
attributes:
  check_mode:
    support: full
    description: In check mode the save is reported and not sent.
  diff_mode:
    support: none
    description: A save has no diff.
  idempotent:
    support: none
    description: Every run saves.
"""

EXAMPLES = r"""
- name: Save the NetScaler configuration
  factorgate.mfa.netscaler_save_config:
    nsip: 192.0.2.10
    nitro_pass: "{{ vault_nitro_pass }}"
"""

RETURN = r"""
saved:
  description: Whether the configuration was saved (false in check mode).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.factorgate.mfa.plugins.module_utils._nitro import nitro_argument_spec, run_module


def main() -> None:
    module = AnsibleModule(argument_spec=nitro_argument_spec(), supports_check_mode=True)

    def work(client):
        # Through the write path, so that check mode skips it; close() must not save again.
        client.save_requested = False
        client.write("POST", "nsconfig", {}, action="save", operation="save")
        client.saved = not client.check_mode
        return {"changed": True}

    run_module(module, work)


if __name__ == "__main__":
    main()
