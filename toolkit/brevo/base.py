"""What every part of the Brevo client builds on: the funnel's signature and Brevo's formats."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import requests

from toolkit.exceptions import FatalApiError

__all__ = ["BrevoApi", "format_brevo_datetime", "parse_brevo_datetime"]


def format_brevo_datetime(moment: datetime) -> str:
    """Brevo's UTC query format ``YYYY-MM-DDTHH:mm:ss.SSSZ`` (a naive datetime is taken as UTC).

    Example:
        >>> format_brevo_datetime(datetime(2024, 5, 1, 12, 30, 5, 123456, tzinfo=timezone.utc))
        '2024-05-01T12:30:05.123Z'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_brevo_datetime(text: str) -> datetime:
    """Parse a timestamp Brevo returns (``modifiedAt``: ``...SSS+00:00`` or ``...SSSZ``) as aware UTC.

    Example:
        >>> parse_brevo_datetime("2024-05-01T14:30:05.123+02:00").isoformat()
        '2024-05-01T12:30:05.123000+00:00'
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class BrevoApi(abc.ABC):
    """Base of the client's parts (contacts, imports, lists, ...): they call Brevo only via :meth:`_call`."""

    @abc.abstractmethod
    def _call(self, method: str, path: str, *, path_params: Mapping[str, str | int] | None = None,
              params: Mapping[str, Any] | None = None, json: Any = None, data: bytes | None = None,
              idempotent: bool | None = None) -> requests.Response:
        """Send one request through the funnel and return its successful response.

        Args:
            method: HTTP method.
            path: path under the base URL with ``{name}`` placeholders (``/contacts/{identifier}``),
                or an absolute ``https://`` URL (import reports). Errors and logs show this
                template, never the filled-in identifiers (e-mail addresses are personal data).
            path_params: values for the placeholders (URL-encoded here).
            params: query parameters.
            json: a JSON body.
            data: a body already encoded as JSON bytes.
            idempotent: whether a retry after an ambiguous failure is harmless; by default every
                method but POST is.

        Raises:
            AuthError: 401 (the API key is wrong or revoked).
            RetriableApiError: 429, 5xx, reset connections or timeouts, after the retries.
            FatalApiError: any other error answer, with Brevo's ``code`` and ``message``.
        """

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`_call` and decode the JSON answer (``None`` for an empty body)."""
        response = self._call(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise FatalApiError(f"the answer is not JSON ({response.headers.get('content-type') or 'no type'})",
                                service="brevo", status=response.status_code, method=method.upper(),
                                path=path if not path.startswith("http") else "") from None

    def _paged(self, path: str, key: str, *, page_size: int, params: Mapping[str, Any] | None = None,
               path_params: Mapping[str, str | int] | None = None,
               max_page: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield the pages (``response[key]``) of a ``limit``/``offset`` listing, oldest first.

        Stops on a short page, or once ``count`` items were seen, so that a listing whose size is
        a multiple of ``page_size`` costs no extra empty call.
        """
        if page_size < 1 or (max_page is not None and page_size > max_page):
            raise ValueError(f"page_size must be between 1 and {max_page or 'the API maximum'}")
        offset = 0
        while True:
            body = self._json("GET", path, path_params=path_params,
                              params={**(params or {}), "limit": page_size, "offset": offset, "sort": "asc"})
            items = list((body or {}).get(key) or [])
            if items:
                yield items
            offset += len(items)
            count = (body or {}).get("count")
            if len(items) < page_size or (isinstance(count, int) and offset >= count):
                return
