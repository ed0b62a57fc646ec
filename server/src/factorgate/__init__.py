"""FactorGate: an MFA server for LDAP and RADIUS clients in front of Active Directory."""

__version__ = "0.1.0"
