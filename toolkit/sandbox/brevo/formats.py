"""Wire formats Brevo uses: timestamps, e-mail and SMS identifiers, query and body parameters."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from werkzeug.wrappers import Request

from toolkit.sandbox.brevo.errors import BrevoError, invalid, missing

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_DIGITS = re.compile(r"^[0-9]+$")
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"
)


#: The forms of Brevo's UTC timestamps: the documented ``...SSSZ``-like one with an offset, the
#: documented ``YYYY-MM-DDTHH:mm:ss.SSSZ``, and the definition's own examples without
#: milliseconds (``2017-05-01T17:05:03Z``). See :mod:`toolkit.sandbox.variants`.
TIMESTAMP_FORMS = ("milliseconds+offset", "milliseconds+Z", "seconds+Z")


def format_ts(moment: datetime, form: str = TIMESTAMP_FORMS[0]) -> str:
    """UTC timestamp as Brevo writes ``createdAt``/``modifiedAt``, in one of :data:`TIMESTAMP_FORMS`.

    The form without milliseconds cuts them (never rounds up), as a coarser clock would.
    """
    moment = moment.astimezone(UTC)
    seconds = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if form == "seconds+Z":
        return seconds + "Z"
    millis = f".{moment.microsecond // 1000:03d}"
    return seconds + millis + ("Z" if form == "milliseconds+Z" else "+00:00")


def parse_datetime_param(name: str, value: str) -> datetime:
    """Parse ``modifiedSince``-style values (``YYYY-MM-DDTHH:mm:ss.SSSZ``; no zone means UTC).

    Raises:
        BrevoError: 400 for anything else (a date alone, an unescaped ``+`` turned into a space).
    """
    match = _DATETIME_RE.match(value)
    if not match:
        raise invalid(f"{name} is not valid, the expected format is YYYY-MM-DDTHH:mm:ss.SSSZ")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise invalid(f"{name} is not valid") from exc
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def _plain_email(candidate: str) -> bool:
    """An address email-validator would accept, recognised without it (most of an import's rows).

    Plain ASCII only: dot-atom local part, letter/digit/hyphen labels, a letter TLD that is not a
    special-use name (RFC 6761), within the length limits. Anything else goes to email-validator.
    """
    if len(candidate) > 254 or not _PLAIN_EMAIL.match(candidate) or "--" in candidate.rsplit("@", 1)[1]:
        return False
    local, domain = candidate.rsplit("@", 1)
    labels = domain.lower().split(".")
    return (
        len(local) <= 64
        and all(
            len(label) <= 63 and not label.startswith("-") and not label.endswith("-") for label in labels
        )
        and not any(name in SPECIAL_USE_DOMAIN_NAMES for name in (labels[-1], ".".join(labels[-2:])))
    )


def normalize_email(value: Any) -> str | None:
    """Lower-cased e-mail address, or ``None`` when the value is not a valid address."""
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    if _plain_email(candidate):
        return candidate.lower()
    try:
        validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return None
    return candidate.lower()


def normalize_phone(value: Any) -> str | None:
    """An SMS number with its country code as Brevo stores it (digits, no ``+``), or ``None``.

    Accepted: ``+49151...``, ``0049151...`` and ``49151...`` (separators allowed). A national
    number (``0151...``) has no country code and is refused, as Brevo refuses it.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = _PHONE_SEPARATORS.sub("", value.strip())
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    elif text.startswith("0"):
        return None
    else:
        digits = text
    if not _DIGITS.match(digits):
        return None
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def is_digits(text: str) -> bool:
    """``True`` for a non-empty string of ASCII digits (``str.isdigit`` also accepts "²")."""
    return bool(_DIGITS.match(text))


def int_arg(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """A non-negative integer query parameter (``limit``, ``offset``) with Brevo's bounds."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.match(raw):
        raise invalid(f"{name} is not valid")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise BrevoError(400, "out_of_range", f"{name} exceeds the maximum value of {maximum}")
    return value


def sort_arg(request: Request) -> bool:
    """``True`` for descending (Brevo's default), ``False`` for ``sort=asc``."""
    sort = request.args.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise invalid("sort is not valid, use asc or desc")
    return sort == "desc"


def path_id(value: str, message: str) -> int:
    """A numeric path parameter (list, folder, process id); 400 when it is not a number."""
    if not _DIGITS.match(value):
        raise invalid(message)
    return int(value)


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 when it is missing or not an object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise missing("Request body is missing")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BrevoError(400, "bad_request", "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BrevoError(400, "bad_request", "Request body must be a JSON object")
    return body


def int_list(body: dict[str, Any], name: str) -> list[int] | None:
    """An optional array of integers in a body (``listIds``); 400 when it has another shape."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise invalid(f"{name} should be an array of integers")
    return value


def bool_field(body: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    """An optional boolean body field; 400 when it is not a boolean."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"{name} should be a boolean")
    return value


def str_field(body: dict[str, Any], name: str) -> str | None:
    """An optional text body field; 400 when it is not a string."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{name} should be a string")
    return value


def page(items: list[Any], offset: int, limit: int, descending: bool) -> list[Any]:
    """One page of ``items`` (given in creation order), newest first when ``descending``."""
    ordered = items[::-1] if descending else items
    return ordered[offset : offset + limit]
