"""Wire variants: the forms the services' references allow, chosen at random but reproducibly per seed.

A client written against one habit of the sandbox would break on the first real answer of
another allowed form. So where a reference allows several forms, the sandbox sends each of
them, picked by a hash of the seed, the kind of choice and a stable key (a contact's id, a Bulk
job and page...): the same seed gives the same answers, whatever order the requests come in.

==============================  ================================================  ==========================
choice                          forms                                             source
==============================  ================================================  ==========================
Brevo ``createdAt`` /           ``...03.123+00:00``, ``...03.123Z``,               definition's examples
``modifiedAt``                  ``...03Z`` (no milliseconds)                       (``2017-05-01T17:05:03Z``)
                                                                                  and its documented form
Brevo process status while      ``in_process`` or ``processing``                  brevo-python v4
an import runs                                                                    ``GetProcessResponseStatus``
Brevo process ``created_at``,   present or absent                                 in brevo-python v4 (4.0.10),
``completed_at``                                                                  not in 5.1.0
Brevo ``x-sib-ratelimit-*``     present or absent                                 not in the definition;
headers                                                                           docs "limit headers"
Salesforce Bulk CSV datetimes   ``...04.000Z`` or ``...04Z``                      Bulk API 2.0 docs: ms
                                                                                  optional
Salesforce Bulk results         ``Sforce-NumberOfRecords`` present or absent      only ``Sforce-Locator`` is
header                                                                            needed to page
==============================  ================================================  ==========================

``WireVariants(None)`` (the default of a bare org or account) always gives the first form: the
services' documented one, which unit tests of the sandbox itself rely on.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["WireVariants"]

T = TypeVar("T")


class WireVariants:
    """Reproducible choices among allowed wire forms.

    Args:
        seed: the sandbox's seed; ``None`` turns variants off (the first form every time).
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    @property
    def enabled(self) -> bool:
        """Whether forms other than the first are ever chosen."""
        return self.seed is not None

    def _draw(self, kind: str, key: object) -> int:
        return zlib.crc32(f"{self.seed}|{kind}|{key}".encode())

    def pick(self, kind: str, key: object, options: Sequence[T]) -> T:
        """One of ``options`` for ``(kind, key)``: always the same for the same seed."""
        if self.seed is None or len(options) == 1:
            return options[0]
        return options[self._draw(kind, key) % len(options)]

    def chance(self, kind: str, key: object, share: float) -> bool:
        """``True`` for about ``share`` of the keys (never when variants are off)."""
        if self.seed is None:
            return False
        return self._draw(kind, key) % 10_000 < share * 10_000

    def __repr__(self) -> str:
        return f"WireVariants(seed={self.seed!r})"
