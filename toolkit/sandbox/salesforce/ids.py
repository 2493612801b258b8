"""Salesforce record Ids: 15-character base, 3-character case-safe suffix, key prefixes.

An Id is ``<key prefix (3)><pod (2)><reserved (1)><sequence (9, base 62)>`` plus the suffix that
Salesforce derives from the case of the first 15 characters, so that the 18-character form
survives case-insensitive systems. Sequences are fixed-width base 62 in ASCII order
(``0-9A-Za-z``), so Ids issued later sort after earlier ones (``ORDER BY Id`` = creation order).
The pod (the org's instance) is :data:`POD` unless an org is given its own
(``SandboxConfig.pod``): sandbox orgs on different pods issue different Ids, as real orgs do.

Sources for the layout (Salesforce documents only the prefix and the 15/18-character forms):
characters 4-5 name the instance the record was created on and the 6th is reserved
(salesforce.stackexchange.com "What are Salesforce ID's composed of?", metillium.com 2017);
since Summer '23 (Hyperforce) the instance may take characters 4-6 (codebycody.com, "Salesforce
IDs Explained"). The toolkit treats Ids as opaque 15/18-character strings, so either form works.
"""

from __future__ import annotations

import random
import re
import threading

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
POD = "8d"
SEQUENCE_WIDTH = 9


class MalformedIdError(ValueError):
    """Raised for a string that is not a valid Salesforce Id (or not one of the expected object)."""


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character Id, computed as Salesforce does."""
    out = []
    for chunk in range(3):
        flags = 0
        for pos, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                flags |= 1 << pos
        out.append(_SUFFIX_CHARS[flags])
    return "".join(out)


def _repair_case(id18: str) -> str:
    """Restore the case of the first 15 characters from the suffix (what Salesforce does)."""
    chars = list(id18[:15])
    for chunk, flag_char in enumerate(id18[15:].upper()):
        flags = _SUFFIX_CHARS.index(flag_char)
        for pos in range(5):
            i = chunk * 5 + pos
            upper = bool(flags & (1 << pos))
            if chars[i].isalpha():
                chars[i] = chars[i].upper() if upper else chars[i].lower()
            elif upper:
                raise MalformedIdError(id18)
    return "".join(chars)


def normalize(value: object, prefix: str | None = None) -> str:
    """Return the 18-character form of a 15- or 18-character Id.

    Args:
        value: the candidate Id.
        prefix: the key prefix the Id must have (e.g. ``"003"`` for Contact), or None.

    Raises:
        MalformedIdError: not an Id, a suffix that does not match, or the wrong key prefix.
    """
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise MalformedIdError(str(value))
    if len(value) == 18:
        if any(c not in _SUFFIX_CHARS for c in value[15:].upper()):
            raise MalformedIdError(value)
        id15 = _repair_case(value)
        if checksum(id15) != value[15:].upper():
            raise MalformedIdError(value)
    else:
        id15 = value
    if prefix is not None and id15[:3] != prefix:
        raise MalformedIdError(value)
    return id15 + checksum(id15)


def is_id(value: object, prefix: str | None = None) -> bool:
    """True if ``value`` is a valid 15/18-character Id (with the given key prefix, if any)."""
    try:
        normalize(value, prefix)
    except MalformedIdError:
        return False
    return True


def to_base62(number: int, width: int) -> str:
    """Fixed-width base-62 representation of a non-negative integer."""
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    text = "".join(reversed(digits)) or "0"
    if len(text) > width:
        raise OverflowError("sequence exhausted")
    return text.rjust(width, "0")


def check_pod(pod: str) -> str:
    """``pod`` if it is two base-62 characters (an Id's instance part), else ``ValueError``."""
    if len(pod) != 2 or any(c not in BASE62 for c in pod):
        raise ValueError(f"a pod is two characters of 0-9, A-Z, a-z, not {pod!r}")
    return pod


def make_id(prefix: str, sequence: int, pod: str = POD) -> str:
    """The 18-character Id of the ``sequence``-th record with this key prefix (on ``pod``)."""
    id15 = f"{prefix}{pod}0{to_base62(sequence, SEQUENCE_WIDTH)}"
    return id15 + checksum(id15)


def random_id(prefix: str, rng: random.Random | None = None) -> str:
    """An 18-character Id with a random sequence (for org, user and similar singletons)."""
    rng = rng or random.Random()
    return make_id(prefix, rng.randrange(62**6, 62**8))


class IdSequence:
    """Thread-safe source of increasing Ids for one key prefix."""

    def __init__(self, prefix: str, start: int = 1) -> None:
        self.prefix = prefix
        self._next = start
        self._lock = threading.Lock()

    @property
    def next_value(self) -> int:
        """The sequence number the next Id will use (for save/load)."""
        with self._lock:
            return self._next

    def take(self, count: int = 1) -> list[str]:
        """Reserve ``count`` consecutive Ids."""
        with self._lock:
            first = self._next
            self._next += count
        return [make_id(self.prefix, n) for n in range(first, first + count)]

    def next(self) -> str:
        """Reserve one Id."""
        return self.take(1)[0]
