"""Test Active Directory for FactorGate: a Samba AD DC on 127.0.0.2.

``scripts/test-ad`` is the command line. The package only uses the standard
library and the Samba, OpenLDAP and OpenSSL command-line tools, so it runs
before any virtualenv exists.
"""
