"""RADIUS packet codes and the attribute types FactorGate reads or writes.

Numbers from the IANA RADIUS registry: RFC 2865 (authentication), RFC 2866
(accounting), RFC 3579 (EAP-Message, Message-Authenticator), RFC 5997
(Status-Server) and RFC 3162 (NAS-IPv6-Address). Attributes not listed here
still pass through the codec as raw (type, value) pairs.
"""

from __future__ import annotations

ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
ACCESS_CHALLENGE = 11
STATUS_SERVER = 12

CODE_NAMES: dict[int, str] = {
    ACCESS_REQUEST: "Access-Request",
    ACCESS_ACCEPT: "Access-Accept",
    ACCESS_REJECT: "Access-Reject",
    ACCOUNTING_REQUEST: "Accounting-Request",
    ACCOUNTING_RESPONSE: "Accounting-Response",
    ACCESS_CHALLENGE: "Access-Challenge",
    STATUS_SERVER: "Status-Server",
}

USER_NAME = 1
USER_PASSWORD = 2
CHAP_PASSWORD = 3
NAS_IP_ADDRESS = 4
NAS_PORT = 5
SERVICE_TYPE = 6
FRAMED_IP_ADDRESS = 8
REPLY_MESSAGE = 18
STATE = 24
CLASS = 25
VENDOR_SPECIFIC = 26
SESSION_TIMEOUT = 27
CALLED_STATION_ID = 30
CALLING_STATION_ID = 31
NAS_IDENTIFIER = 32
PROXY_STATE = 33
ACCT_STATUS_TYPE = 40
ACCT_SESSION_ID = 44
NAS_PORT_TYPE = 61
EAP_MESSAGE = 79
MESSAGE_AUTHENTICATOR = 80
NAS_IPV6_ADDRESS = 95

ATTRIBUTE_NAMES: dict[int, str] = {
    USER_NAME: "User-Name",
    USER_PASSWORD: "User-Password",
    CHAP_PASSWORD: "CHAP-Password",
    NAS_IP_ADDRESS: "NAS-IP-Address",
    NAS_PORT: "NAS-Port",
    SERVICE_TYPE: "Service-Type",
    FRAMED_IP_ADDRESS: "Framed-IP-Address",
    REPLY_MESSAGE: "Reply-Message",
    STATE: "State",
    CLASS: "Class",
    VENDOR_SPECIFIC: "Vendor-Specific",
    SESSION_TIMEOUT: "Session-Timeout",
    CALLED_STATION_ID: "Called-Station-Id",
    CALLING_STATION_ID: "Calling-Station-Id",
    NAS_IDENTIFIER: "NAS-Identifier",
    PROXY_STATE: "Proxy-State",
    ACCT_STATUS_TYPE: "Acct-Status-Type",
    ACCT_SESSION_ID: "Acct-Session-Id",
    NAS_PORT_TYPE: "NAS-Port-Type",
    EAP_MESSAGE: "EAP-Message",
    MESSAGE_AUTHENTICATOR: "Message-Authenticator",
    NAS_IPV6_ADDRESS: "NAS-IPv6-Address",
}

VENDOR_CITRIX = 3845
"""SMI enterprise number of Citrix, the vendor id of NetScaler's own attributes."""


def describe_code(code: int) -> str:
    """Return the RFC name of a packet code, or "code N" for an unknown one."""
    return CODE_NAMES.get(code, f"code {code}")


def describe_attribute(attribute_type: int) -> str:
    """Return the RFC name of an attribute type, or "attribute N" for an unknown one."""
    return ATTRIBUTE_NAMES.get(attribute_type, f"attribute {attribute_type}")
