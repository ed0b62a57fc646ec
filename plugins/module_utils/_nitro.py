# Copyright: FactorGate developers
# Apache License 2.0 (see galaxy.yml)
"""Private NITRO client of the factorgate.mfa NetScaler modules.

This layer owns everything that talks to ``/nitro/v1/config``: authentication
(a login session, per-request header credentials, or a token the caller
already holds), URL encoding, typed errors, the single write path that honours
check mode, and the normalisation that makes a GET result comparable with the
module's options. Modules only declare a ``Schema`` and their desired values.

Secrets (``nitro_pass``, session ids, bind passwords, RADIUS keys) never enter
a result, a diff, a warning or an exception message from this file.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote
from xml.sax.saxutils import escape, unescape

from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import Request

# NITRO error codes this client acts on (NITRO 14.1 error catalogue).
NO_SUCH_RESOURCE = 258
INVALID_CREDENTIALS = 354
SESSION_EXPIRED = 444
NOT_LOGGED_IN = 1027
RESOURCE_IN_USE = 315
THEME_IN_USE = 1453
POLICY_NOT_FOUND = 2054
RELOGIN_CODES = (SESSION_EXPIRED, NOT_LOGGED_IN)

# Fields NITRO adds to every GET row that no module manages.
ALWAYS_READONLY = frozenset({"__count", "_nextgenapiresource"})

# lbmonitor time fields and the attribute holding their unit.
UNIT_MILLISECONDS = {"MSEC": 1, "SEC": 1000, "MIN": 60000}

# What to do next, per error code; appended to the error sentence.
REMEDIES = {
    INVALID_CREDENTIALS: "check nitro_user and nitro_pass (or NETSCALER_NITRO_USER/NETSCALER_NITRO_PASS)",
    SESSION_EXPIRED: "log in again and pass the new nitro_auth_token, or leave nitro_auth_token unset",
    NOT_LOGGED_IN: "log in again and pass the new nitro_auth_token, or leave nitro_auth_token unset",
    THEME_IN_USE: "unbind the theme from every Gateway vserver first (netscaler_portal_theme with state=absent does that for the vserver it names)",
    RESOURCE_IN_USE: "remove what refers to it first (a policy using the action, or a binding of the policy)",
    POLICY_NOT_FOUND: "create the policy first with netscaler_auth_policy",
    1067: "enable the feature with 'enable ns feature' or the nsfeature resource",
    2235: "a vserver takes classic or advanced authentication policies, not both: unbind the other kind first",
    2236: "a vserver takes classic or advanced authentication policies, not both: unbind the other kind first",
    2131: "unbind the monitor from every service group first",
}


def nitro_argument_spec() -> dict[str, Any]:
    """Return the connection options shared by every netscaler_* module.

    The documentation of these options is the ``factorgate.mfa.nitro`` doc
    fragment; both must change together.
    """
    return dict(
        nsip=dict(type="str", required=True, fallback=(env_fallback, ["NETSCALER_NSIP"])),
        nitro_user=dict(type="str", default="nsroot", fallback=(env_fallback, ["NETSCALER_NITRO_USER"])),
        nitro_pass=dict(type="str", no_log=True, fallback=(env_fallback, ["NETSCALER_NITRO_PASS"])),
        nitro_protocol=dict(type="str", default="https", choices=["http", "https"]),
        validate_certs=dict(type="bool", default=True),
        nitro_timeout=dict(type="float", default=30.0),
        nitro_auth_token=dict(type="str", no_log=True, fallback=(env_fallback, ["NETSCALER_NITRO_AUTH_TOKEN"])),
        save_config=dict(type="bool", default=False),
    )


class NitroError(Exception):
    """A NITRO request that failed, with the detail NITRO returned.

    Args:
        status: HTTP status, or None when no response arrived.
        errorcode: NITRO ``errorcode``, or None when the body had none.
        message: NITRO ``message`` or the transport error, never a secret.
        resource: the NITRO resource type, for example ``authenticationldapaction``.
        name: the object the request was about, if any.
        operation: what the client tried, for example ``add`` or ``login``.
    """

    def __init__(
        self,
        status: int | None,
        errorcode: int | None,
        message: str,
        resource: str,
        name: str | None = None,
        operation: str = "request",
        subject: str | None = None,
    ) -> None:
        self.status = status
        self.errorcode = errorcode
        self.message = message
        self.resource = resource
        self.name = name
        self.operation = operation
        self.subject = subject
        super().__init__(self.sentence())

    def sentence(self) -> str:
        """Format the error once, as a sentence that names the object and the fix."""
        if self.subject is not None:
            target = self.subject
        elif self.name is None:
            target = "of " + self.resource
        else:
            target = "of %s %r" % (self.resource, self.name)
        if self.status is None:
            return "NITRO %s %s failed: %s." % (self.operation, target, self.message)
        detail = "HTTP %s" % self.status
        if self.errorcode is not None:
            detail += ", errorcode %s" % self.errorcode
        text = "NITRO %s %s failed (%s): %s." % (self.operation, target, detail, self.message.rstrip("."))
        remedy = REMEDIES.get(self.errorcode) if self.errorcode is not None else None
        if remedy:
            text += " To fix it, %s." % remedy
        return text


@dataclass(frozen=True)
class Schema:
    """How one NITRO resource reads back, for exact comparison.

    Attributes:
        resource: the NITRO resource type.
        key: the primary key attribute (``name``, ``servicegroupname``, ...).
        numbers: attributes typed Double or Integer; NITRO returns Doubles as
            strings ("3"), so both sides are compared as numbers.
        enums: attributes whose letter case NITRO may change; compared
            case-insensitively.
        secrets: attributes that GET returns only as an encrypted hash; never
            compared, never shown.
        immutable: attributes NITRO accepts on add but not on update.
        defaults: what an attribute is worth while GET leaves it out.
        durations: time attribute -> its unit attribute (lbmonitor), so that
            60 SEC equals 1 MIN.
        key_args: attributes that must accompany the key in an update and a
            DELETE (lbmonitor ``type``).
    """

    resource: str
    key: str = "name"
    numbers: frozenset[str] = frozenset()
    enums: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    immutable: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    durations: Mapping[str, str] = field(default_factory=dict)
    key_args: tuple[str, ...] = ()


def to_number(value: Any) -> Any:
    """Turn a NITRO number (maybe the string "3" or "3.0") into int or float."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else value
    try:
        number = float(str(value).strip())
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def comparable(schema: Schema, name: str, value: Any) -> Any:
    """Return the form of one attribute value used for comparison."""
    if value is None:
        return None
    if name in schema.numbers:
        return to_number(value)
    if name in schema.enums and isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return sorted(str(item) for item in value)
    return value


def normalise(schema: Schema, row: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """Reduce a GET row to the managed attributes, with defaults and numbers.

    Only the attributes in ``wanted`` are kept, so read-only fields, fields
    no option manages and hashed secrets drop out.
    """
    current: dict[str, Any] = {}
    for name in wanted:
        if name in schema.secrets or name in ALWAYS_READONLY:
            continue
        value = row.get(name, schema.defaults.get(name))
        if name in schema.numbers:
            value = to_number(value)
        current[name] = value
    return current


def _duration_ms(schema: Schema, name: str, values: Mapping[str, Any]) -> Any:
    unit = str(values.get(schema.durations[name]) or schema.defaults.get(schema.durations[name], "SEC")).upper()
    number = to_number(values.get(name))
    if not isinstance(number, (int, float)):
        return number
    return number * UNIT_MILLISECONDS.get(unit, 1000)


def differing_keys(schema: Schema, desired: Mapping[str, Any], row: Mapping[str, Any]) -> list[str]:
    """List the managed attributes whose GET value differs from ``desired``.

    Secrets are never compared. Unit attributes of lbmonitor durations are
    compared through the duration they qualify.
    """
    units = set(schema.durations.values())
    changed = []
    for name, value in desired.items():
        if value is None or name in schema.secrets or name in units:
            continue
        current = row.get(name, schema.defaults.get(name))
        if name in schema.durations:
            if _duration_ms(schema, name, desired) != _duration_ms(schema, name, row):
                changed.append(name)
            continue
        if comparable(schema, name, value) != comparable(schema, name, current):
            changed.append(name)
    return changed


def public_view(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """Copy ``values`` without secrets and unset options, for results and diffs."""
    return {name: value for name, value in values.items() if value is not None and name not in schema.secrets}


def encode_name(name: str) -> str:
    """Encode an object name for the URL path; NITRO decodes it twice."""
    return quote(quote(str(name), safe=""), safe="")


def encode_pairs(pairs: Mapping[str, Any]) -> str:
    """Encode ``args``/``filter`` pairs as ``k:v,k2:v2`` with values encoded once."""
    parts = []
    for key, value in pairs.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append("%s:%s" % (key, quote(str(value), safe="")))
    return ",".join(parts)


class NitroClient:
    """One connection to one NetScaler's NITRO API.

    Build it with ``NitroClient.from_module(module)``. Reads always run, also
    in check mode, so that diffs show the appliance's real state. Every write
    goes through ``write``, which records the change and skips the request in
    check mode. ``close`` saves the configuration when ``save_config`` is set
    and something changed, then logs out of a session this client opened.
    """

    def __init__(
        self,
        nsip: str,
        user: str | None,
        password: str | None,
        protocol: str = "https",
        validate_certs: bool = True,
        timeout: float = 30.0,
        auth_token: str | None = None,
        save_config: bool = False,
        check_mode: bool = False,
        use_session: bool = True,
    ) -> None:
        self.base_url = "%s://%s/nitro/v1/config" % (protocol, nsip)
        self.nsip = nsip
        self._user = user
        self._password = password
        self._token = auth_token
        self._token_given = auth_token is not None
        self._use_session = use_session
        self.timeout = timeout
        self.save_requested = save_config
        self.check_mode = check_mode
        self.changed = False
        self.saved = False
        self.writes: list[str] = []
        self._http = Request(validate_certs=validate_certs, timeout=timeout, follow_redirects="none")

    @classmethod
    def from_module(cls, module: Any, read_only: bool = False) -> "NitroClient":
        """Build a client from the module's nitro options.

        Check-mode and read-only runs use per-request header credentials, so
        they never leave a login session behind; a writing run logs in once.
        """
        params = module.params
        if not params.get("nitro_auth_token") and not params.get("nitro_pass"):
            module.fail_json(msg="Missing NITRO credentials: set nitro_pass (or NETSCALER_NITRO_PASS), or nitro_auth_token.")
        return cls(
            nsip=params["nsip"],
            user=params["nitro_user"],
            password=params.get("nitro_pass"),
            protocol=params["nitro_protocol"],
            validate_certs=params["validate_certs"],
            timeout=params["nitro_timeout"],
            auth_token=params.get("nitro_auth_token"),
            save_config=params.get("save_config", False),
            check_mode=module.check_mode,
            use_session=not (module.check_mode or read_only),
        )

    # ----- authentication -------------------------------------------------

    def login(self) -> None:
        """Open a session; the token goes into the NITRO_AUTH_TOKEN cookie."""
        payload = {"login": {"username": self._user, "password": self._password}}
        try:
            body = self._send("POST", "login", None, {}, payload, operation="login", authenticate=False)
        except NitroError as error:
            subject = "to %s as %r" % (self.nsip, self._user)
            raise NitroError(error.status, error.errorcode, error.message, "login", operation="login", subject=subject) from None
        token = body.get("sessionid")
        if not token:
            raise NitroError(None, None, "the login response carried no sessionid", "login", operation="login")
        self._token = str(token)

    def logout(self) -> None:
        """End the session this client opened; a given token is left alone."""
        if self._token is None or self._token_given:
            return
        try:
            self._send("POST", "logout", None, {}, {"logout": {}}, operation="logout")
        except NitroError:
            # A failed logout leaves a session that expires on its own.
            pass
        self._token = None

    def close(self) -> None:
        """Save the configuration if asked and changed, then log out."""
        try:
            if self.save_requested and self.changed and not self.check_mode:
                self.save()
        finally:
            self.logout()

    def _auth_headers(self) -> dict[str, str]:
        if self._token is None and self._use_session and not self._token_given:
            self.login()
        if self._token is not None:
            return {"Cookie": "NITRO_AUTH_TOKEN=%s" % self._token}
        return {"X-NITRO-USER": self._user or "", "X-NITRO-PASS": self._password or ""}

    # ----- requests ---------------------------------------------------------

    def _url(self, resource: str, name: str | None, query: Mapping[str, str]) -> str:
        url = "%s/%s" % (self.base_url, resource)
        if name is not None:
            url += "/" + encode_name(name)
        if query:
            url += "?" + "&".join("%s=%s" % (key, value) for key, value in query.items())
        return url

    def _send(
        self,
        method: str,
        resource: str,
        name: str | None,
        query: Mapping[str, str],
        payload: Any = None,
        operation: str = "request",
        authenticate: bool = True,
        retried: bool = False,
    ) -> dict[str, Any]:
        """Send one request and return the parsed body.

        A 401 with errorcode 444 or 1027 on a session this client opened
        means the session expired: the client logs in again and retries once.
        """
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authenticate:
            headers.update(self._auth_headers())
        data = None if payload is None else json.dumps(payload)
        url = self._url(resource, name, query)
        try:
            response = self._http.open(method, url, data=data, headers=headers)
            return _parse_body(response.read())
        except HTTPError as error:
            body = _parse_body(_read_error_body(error))
            failure = NitroError(error.code, body.get("errorcode"), str(body.get("message") or error.reason), resource, name, operation)
        except URLError as error:
            raise NitroError(None, None, _describe_unreachable(url, error.reason), resource, name, operation) from None
        except (OSError, ValueError) as error:
            raise NitroError(None, None, _describe_unreachable(url, error), resource, name, operation) from None

        if self._should_relogin(failure, authenticate, retried):
            self._token = None
            self.login()
            return self._send(method, resource, name, query, payload, operation, authenticate, retried=True)
        raise failure

    def _should_relogin(self, failure: NitroError, authenticate: bool, retried: bool) -> bool:
        if retried or not authenticate or self._token_given or not self._use_session:
            return False
        return failure.status == 401 and failure.errorcode in RELOGIN_CODES

    def get(self, resource: str, name: str | None = None, args: Mapping[str, Any] | None = None,
            filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Read objects; a missing named object (258) is an empty list."""
        query = {}
        if args:
            query["args"] = encode_pairs(args)
        if filters:
            query["filter"] = encode_pairs(filters)
        try:
            body = self._send("GET", resource, name, query, operation="read")
        except NitroError as error:
            if error.errorcode == NO_SUCH_RESOURCE and name is not None:
                return []
            raise
        rows = body.get(resource, [])
        if isinstance(rows, dict):
            return [rows]
        return list(rows)

    def get_one(self, resource: str, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Read one object by key, or None when it does not exist."""
        rows = self.get(resource, name, args)
        return rows[0] if rows else None

    def write(self, method: str, resource: str, payload: Any = None, name: str | None = None,
              args: Mapping[str, Any] | None = None, action: str | None = None, operation: str = "write") -> None:
        """Change the appliance: the only path to POST, PUT and DELETE.

        The change is recorded either way; in check mode no request is sent.
        """
        self.changed = True
        self.writes.append("%s %s" % (operation, resource))
        if self.check_mode:
            return
        query = {}
        if action:
            query["action"] = action
        if args:
            query["args"] = encode_pairs(args)
        body = None if payload is None else {resource: payload}
        self._send(method, resource, name, query, body, operation=operation)

    def save(self) -> None:
        """Save the running configuration (``save ns config``)."""
        self._send("POST", "nsconfig", None, {"action": "save"}, {"nsconfig": {}}, operation="save")
        self.saved = True


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _read_error_body(error: HTTPError) -> bytes:
    try:
        return error.read() or b""
    except (OSError, AttributeError):
        return b""


def _describe_unreachable(url: str, reason: Any) -> str:
    # The URL carries no credentials; the query may carry args, so cut it.
    base = url.split("/nitro/", 1)[0]
    return (
        "cannot reach NITRO at %s (%s). Check nsip, nitro_protocol and nitro_timeout, "
        "and that the NSIP accepts NITRO requests from this host" % (base, reason)
    )


@dataclass
class Outcome:
    """What ensure_object or ensure_binding did, for the module result."""

    changed: bool = False
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    secrets_written: list[str] = field(default_factory=list)


def ensure_object(client: NitroClient, schema: Schema, desired: Mapping[str, Any], state: str = "present",
                  update_password: str = "on_create") -> Outcome:
    """Make one object match ``desired`` (None values are left unmanaged).

    Creates the object when missing, updates only the attributes that differ,
    and writes secrets on create, or on every run with ``update_password=always``
    because GET returns only their hash. Raises ValueError when an immutable
    attribute differs, since NITRO would reject the update.
    """
    name = desired[schema.key]
    key_args = {arg: desired[arg] for arg in schema.key_args if desired.get(arg) is not None}
    row = client.get_one(schema.resource, name)
    wanted = {key: value for key, value in desired.items() if value is not None}
    outcome = Outcome()

    if state == "absent":
        if row is not None:
            outcome.before = normalise(schema, row, public_view(schema, wanted))
            client.write("DELETE", schema.resource, name=name, args=key_args or None, operation="delete")
            outcome.changed = True
        return outcome

    if row is None:
        client.write("POST", schema.resource, dict(wanted), operation="add")
        outcome.changed = True
        outcome.after = public_view(schema, wanted)
        outcome.secrets_written = sorted(key for key in wanted if key in schema.secrets)
        return outcome

    outcome.before = normalise(schema, row, public_view(schema, wanted))
    changed = differing_keys(schema, wanted, row)
    blocked = [key for key in changed if key in schema.immutable]
    if blocked:
        raise ValueError(
            "%s %r exists with a different %s, which NITRO cannot change on an existing object: "
            "delete it first (state=absent) or choose another name" % (schema.resource, name, ", ".join(blocked))
        )
    secrets = [key for key in wanted if key in schema.secrets] if update_password == "always" else []
    outcome.after = dict(outcome.before)
    for key in changed:
        outcome.after[key] = wanted[key]
    if not changed and not secrets:
        return outcome

    payload = {schema.key: name}
    payload.update(key_args)
    for key in changed + secrets:
        payload[key] = wanted[key]
        # A duration is only meaningful with its unit.
        if key in schema.durations and schema.durations[key] in wanted:
            payload[schema.durations[key]] = wanted[schema.durations[key]]
    client.write("PUT", schema.resource, payload, operation="update")
    outcome.changed = True
    outcome.secrets_written = sorted(secrets)
    return outcome


@dataclass(frozen=True)
class BindingSchema:
    """A ``<parent>_<child>_binding`` resource.

    Attributes:
        resource: the binding resource type.
        parent_key: the attribute naming the parent (``name``, ``servicegroupname``).
        match_keys: the attributes that identify one binding; unbind names them all.
        numbers: attributes compared as numbers (``priority`` is a Double).
        defaults: values of match keys that GET leaves out while unset.
    """

    resource: str
    parent_key: str
    match_keys: tuple[str, ...]
    numbers: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def as_schema(self) -> Schema:
        return Schema(self.resource, self.parent_key, numbers=self.numbers, defaults=self.defaults)


def binding_identity(schema: BindingSchema, values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Return the match key of a binding, with defaults and numbers normalised."""
    plain = schema.as_schema()
    identity = []
    for key in schema.match_keys:
        value = values.get(key, schema.defaults.get(key))
        identity.append(comparable(plain, key, value))
    return tuple(identity)


def read_bindings(client: NitroClient, schema: BindingSchema, parent: str) -> list[dict[str, Any]]:
    """Read the bindings of one parent; a parent without bindings gives []."""
    return client.get(schema.resource, parent)


def unbind(client: NitroClient, schema: BindingSchema, parent: str, values: Mapping[str, Any]) -> None:
    """Remove one binding, naming every match key so only that one goes."""
    args = {}
    for key in schema.match_keys:
        value = values.get(key, schema.defaults.get(key))
        if value is not None:
            args[key] = value
    client.write("DELETE", schema.resource, name=parent, args=args, operation="unbind")


def ensure_binding(client: NitroClient, schema: BindingSchema, desired: Mapping[str, Any], state: str = "present",
                   rows: list[dict[str, Any]] | None = None) -> Outcome:
    """Make one binding exist as ``desired`` or not exist.

    NITRO cannot update a binding, so a binding whose other attributes
    (``priority``, ``weight``) differ is unbound and bound again.
    """
    parent = desired[schema.parent_key]
    wanted = {key: value for key, value in desired.items() if value is not None}
    identity = binding_identity(schema, wanted)
    if rows is None:
        rows = read_bindings(client, schema, parent)
    match = next((row for row in rows if binding_identity(schema, row) == identity), None)
    plain = schema.as_schema()
    outcome = Outcome()

    if match is not None:
        outcome.before = normalise(plain, match, wanted)
    if state == "absent":
        if match is not None:
            unbind(client, schema, parent, match)
            outcome.changed = True
        return outcome

    outcome.after = dict(wanted)
    if match is not None and not differing_keys(plain, wanted, match):
        return outcome
    if match is not None:
        unbind(client, schema, parent, match)
    client.write("PUT", schema.resource, dict(wanted), operation="bind")
    outcome.changed = True
    return outcome


def run_module(module: Any, work: Any, read_only: bool = False) -> None:
    """Run ``work(client)`` -> result dict, close the client and exit the module.

    Turns NitroError and ValueError into ``fail_json`` with the one sentence
    they carry; adds ``changed`` and ``saved`` to the result.
    """
    client = NitroClient.from_module(module, read_only=read_only)
    try:
        result = work(client)
        client.close()
    except (NitroError, ValueError) as error:
        client.logout()
        module.fail_json(msg=as_sentence(str(error)))
        return
    result.setdefault("changed", client.changed)
    result["saved"] = client.saved
    module.exit_json(**result)


def as_sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def outcome_result(module: Any, outcome: Outcome, resource: str, name: str) -> dict[str, Any]:
    """Build a module result with a diff limited to the managed attributes."""
    result: dict[str, Any] = {"changed": outcome.changed, "resource": resource, "name": name}
    if outcome.secrets_written:
        result["secrets_written"] = outcome.secrets_written
    if module._diff:
        result["diff"] = {"before": outcome.before, "after": outcome.after}
    return result


def sync_bindings(client: NitroClient, schema: BindingSchema, parent: str, desired: list[dict[str, Any]],
                  purge: bool = True) -> Outcome:
    """Make the bindings of ``parent`` exactly ``desired`` (or a superset when ``purge`` is false).

    The diff lists the bindings' managed attributes before and after.
    """
    rows = read_bindings(client, schema, parent)
    outcome = Outcome()
    wanted_ids = set()
    fields = set()
    for item in desired:
        fields.update(key for key, value in item.items() if value is not None)
    plain = schema.as_schema()
    outcome.before = {"bindings": sorted((normalise(plain, row, dict.fromkeys(fields)) for row in rows), key=repr)}

    for item in desired:
        values = dict(item, **{schema.parent_key: parent})
        wanted_ids.add(binding_identity(schema, values))
        if ensure_binding(client, schema, values, "present", rows).changed:
            outcome.changed = True
    if purge:
        for row in rows:
            if binding_identity(schema, row) not in wanted_ids:
                unbind(client, schema, parent, row)
                outcome.changed = True

    after = [{key: value for key, value in dict(item, **{schema.parent_key: parent}).items() if value is not None} for item in desired]
    if not purge:
        after += [row for row in outcome.before["bindings"] if binding_identity(schema, row) not in wanted_ids]
    outcome.after = {"bindings": sorted(after, key=repr)}
    return outcome


# ----- portal theme strings files -------------------------------------------------
# NOTE: NITRO documents no strings-file layout; these paths follow what the
# NetScaler GUI theme editor writes under /var/netscaler/logon/themes/.

THEMES_ROOT = "/var/netscaler/logon/themes"
RFWEBUI_TITLE_KEY = "nsg-loginTitle"
XML_TITLE = re.compile(r"(<Title>)(.*?)(</Title>)", re.DOTALL)


def strings_file(theme: str, basetheme: str, language: str) -> tuple[str, str]:
    """Return (filelocation, filename) of the theme's strings file."""
    if basetheme == "RfWebUI":
        return "%s/%s" % (THEMES_ROOT, theme), "strings.%s.json" % language
    return "%s/%s/resources" % (THEMES_ROOT, theme), "%s.xml" % language


def read_title(basetheme: str, text: str) -> str | None:
    """Return the login form title in a strings file, or None if it has none."""
    if basetheme == "RfWebUI":
        return json.loads(text).get(RFWEBUI_TITLE_KEY)
    match = XML_TITLE.search(text)
    return unescape(match.group(2)) if match else None


def replace_title(basetheme: str, text: str, title: str) -> str:
    """Return the strings file with only the title changed.

    Raises:
        ValueError: the file has no title to replace.
    """
    if basetheme == "RfWebUI":
        strings = json.loads(text, object_pairs_hook=OrderedDict)
        if RFWEBUI_TITLE_KEY not in strings:
            raise ValueError("the strings file has no %s key" % RFWEBUI_TITLE_KEY)
        strings[RFWEBUI_TITLE_KEY] = title
        return json.dumps(strings, indent=2, ensure_ascii=False) + "\n"
    if not XML_TITLE.search(text):
        raise ValueError("the strings file has no <Title> element")
    return XML_TITLE.sub(lambda match: match.group(1) + escape(title) + match.group(3), text, count=1)
