"""NITRO error codes and the HTTP status that goes with each.

Codes and base messages come from the NetScaler error-message catalogue of the
NITRO API reference (base, cli, nitro, pol, lb and monitor error tables). NITRO
appends context in brackets, for example ``Resource already exists [name, X]``.

HTTP status: 258 -> 404, 273 -> 409, 354/444/1027 -> 401 and 1095 -> 400 are
documented or seen in public client code. The 400 for the other argument
errors and 599 ("NetScaler specific error") for everything else follow the
reference's rule "4xx for general HTTP errors, 5xx for NetScaler-specific
errors"; the exact status of each of those codes is inferred.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_SUCH_RESOURCE = 258
RESOURCE_EXISTS = 273
INVALID_ARGUMENT = 278
RESOURCE_IN_USE = 315
INVALID_CREDENTIALS = 354
SESSION_EXPIRED = 444
NO_SUCH_SERVICE_OR_GROUP = 463
NOT_LOGGED_IN = 1027
FEATURE_DISABLED = 1067
ARGUMENTS_MUTUALLY_EXCLUSIVE = 1092
REQUIRED_ARGUMENT_MISSING = 1095
INVALID_ARGUMENT_VALUE = 1097
INTEGER_ABOVE_MAXIMUM = 1108
INTEGER_BELOW_MINIMUM = 1109
INVALID_JSON_INPUT = 1233
COMMAND_EXECUTION_FAILED = 1239
INVALID_ACTION = 1240
BULK_OPERATION_FAILED = 1243
SERVICE_NOT_BOUND = 1303
THEME_NOT_FOUND = 1451
THEME_EXISTS = 1452
THEME_IN_USE = 1453
THEME_NAME_RESERVED = 1480
FILE_TOO_LARGE = 283
NO_SUCH_POLICY = 2054
POLICY_NOT_BOUND = 2097
TOO_MANY_AUTHN_POLICIES = 2098
MONITOR_INTERVAL_NOT_ABOVE_TIMEOUT = 2128
MONITOR_BOUND = 2131
MONITOR_ALREADY_BOUND = 2133
MONITOR_WRONG_TYPE = 2155
MONITOR_NOT_BOUND = 2170
MONITOR_NOT_FOUND = 2171
CLASSIC_BLOCKED_BY_ADVANCED = 2235
ADVANCED_BLOCKED_BY_CLASSIC = 2236

MESSAGES: dict[int, str] = {
    NO_SUCH_RESOURCE: "No such resource",
    RESOURCE_EXISTS: "Resource already exists",
    INVALID_ARGUMENT: "Invalid argument",
    FILE_TOO_LARGE: "File too large",
    RESOURCE_IN_USE: "Resource in use",
    INVALID_CREDENTIALS: "Invalid username or password",
    SESSION_EXPIRED: "Session expired or killed. Please login again",
    NO_SUCH_SERVICE_OR_GROUP: "No such service/serviceGroup",
    NOT_LOGGED_IN: "Not logged in or connection timed out",
    FEATURE_DISABLED: "Feature(s) not enabled",
    ARGUMENTS_MUTUALLY_EXCLUSIVE: "Arguments cannot both be specified",
    REQUIRED_ARGUMENT_MISSING: "Required argument missing",
    INVALID_ARGUMENT_VALUE: "Invalid argument value",
    INTEGER_ABOVE_MAXIMUM: "Integer value exceeds maximum",
    INTEGER_BELOW_MINIMUM: "Integer value below minimum",
    INVALID_JSON_INPUT: "Invalid JSON input",
    COMMAND_EXECUTION_FAILED: "NITRO command Execution failed",
    INVALID_ACTION: "Invalid nitro action or operation",
    BULK_OPERATION_FAILED: "Bulk operation failed",
    SERVICE_NOT_BOUND: "Service not bound to Vserver",
    THEME_NOT_FOUND: "Portal theme doesnt exist",
    THEME_EXISTS: "Portal theme already exists",
    THEME_IN_USE: "Portal theme in use",
    THEME_NAME_RESERVED: (
        "\\EULA\\and \\Custom\\keywords are reserved. Please try with any other name"
    ),
    NO_SUCH_POLICY: "No such policy exists",
    POLICY_NOT_BOUND: "Policy not bound",
    TOO_MANY_AUTHN_POLICIES: "32 authentication policies are already bound",
    MONITOR_INTERVAL_NOT_ABOVE_TIMEOUT: "Monitor interval must be greater than response timeout",
    MONITOR_BOUND: "Monitor must be unbound before it can be deleted",
    MONITOR_ALREADY_BOUND: "The monitor is already bound to the service",
    MONITOR_WRONG_TYPE: "Existing monitor is of different type than given",
    MONITOR_NOT_BOUND: "Monitor not bound to service",
    MONITOR_NOT_FOUND: "Monitor does not exist",
    CLASSIC_BLOCKED_BY_ADVANCED: (
        "Failed to bind classic policy because advanced policy(s) is already bound."
    ),
    ADVANCED_BLOCKED_BY_CLASSIC: (
        "Failed to bind advanced policy because classic policy(s) is already bound."
    ),
}

_HTTP_STATUS: dict[int, int] = {
    NO_SUCH_RESOURCE: 404,
    RESOURCE_EXISTS: 409,
    INVALID_CREDENTIALS: 401,
    SESSION_EXPIRED: 401,
    NOT_LOGGED_IN: 401,
    INVALID_ARGUMENT: 400,
    ARGUMENTS_MUTUALLY_EXCLUSIVE: 400,
    REQUIRED_ARGUMENT_MISSING: 400,
    INVALID_ARGUMENT_VALUE: 400,
    INTEGER_ABOVE_MAXIMUM: 400,
    INTEGER_BELOW_MINIMUM: 400,
    INVALID_JSON_INPUT: 400,
    # NOTE: 405 for an operation the resource does not support is inferred.
    INVALID_ACTION: 405,
}

NETSCALER_SPECIFIC_STATUS = 599


@dataclass
class NitroError(Exception):
    """A failed NITRO operation, rendered as NITRO's JSON error body."""

    errorcode: int
    detail: str = ""
    status: int | None = None

    @property
    def message(self) -> str:
        base = MESSAGES.get(self.errorcode, "NetScaler specific error")
        return f"{base} [{self.detail}]" if self.detail else base

    @property
    def http_status(self) -> int:
        if self.status is not None:
            return self.status
        return _HTTP_STATUS.get(self.errorcode, NETSCALER_SPECIFIC_STATUS)

    def body(self) -> dict[str, object]:
        return {"errorcode": self.errorcode, "message": self.message, "severity": "ERROR"}

    def __str__(self) -> str:
        return f"{self.errorcode} {self.message}"


def not_found(attribute: str, value: str) -> NitroError:
    return NitroError(NO_SUCH_RESOURCE, f"{attribute}, {value}")


def already_exists(attribute: str, value: str) -> NitroError:
    return NitroError(RESOURCE_EXISTS, f"{attribute}, {value}")


def missing_argument(attribute: str) -> NitroError:
    return NitroError(REQUIRED_ARGUMENT_MISSING, attribute)


def invalid_argument(attribute: str) -> NitroError:
    return NitroError(INVALID_ARGUMENT, attribute)


def invalid_value(attribute: str, value: object) -> NitroError:
    return NitroError(INVALID_ARGUMENT_VALUE, f"{attribute}, {value}")
