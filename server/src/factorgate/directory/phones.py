"""Phone numbers from AD, normalised to E.164 at import with `phonenumbers`.

AD holds numbers as people typed them ("+1 555 0100", "(030) 5550103",
"0171 5550104"). Providers need E.164 ("+15550100"). A number without a
country code is read in `region`. A number that cannot be parsed at all is
dropped with a warning, so the user is imported without a phone.
"""

from __future__ import annotations

import logging

import phonenumbers

log = logging.getLogger("factorgate.directory")


def normalize_phone(raw: str, region: str, user: str = "?") -> str:
    """Return `raw` in E.164 form, or "" when it is empty or cannot be parsed.

    A number that parses but is not a valid number of its region (for example
    the 555 numbers of the demo) is kept in E.164 form, and a warning is logged.
    """
    text = raw.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        log.warning("user %s: phone number cannot be read (%s); imported without a phone", user, error)
        return ""
    if not phonenumbers.is_possible_number(number):
        log.warning("user %s: phone number has the wrong length for its country; imported without a phone", user)
        return ""
    if not phonenumbers.is_valid_number(number):
        log.warning("user %s: phone number is not a valid number of its region; kept as %s", user,
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
