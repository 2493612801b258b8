"""What every part of the Brevo client builds on: the funnel's signature and Brevo's formats."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeAlias, TypedDict, TypeVar, Unpack

import requests

from toolkit.exceptions import ProtocolError
from toolkit.timestamps import format_milliseconds, parse_brevo_datetime

__all__ = [
    "BrevoApi",
    "CallOptions",
    "JsonObject",
    "PathParams",
    "QueryParams",
    "format_brevo_datetime",
    "parse_brevo_datetime",
]

T = TypeVar("T")

JsonObject: TypeAlias = dict[str, Any]
"""A decoded JSON object, as Brevo answers every call the toolkit reads (its values are any JSON)."""

PathParams: TypeAlias = Mapping[str, str | int]
"""Values for the ``{name}`` placeholders of a path template."""

QueryParams: TypeAlias = Mapping[str, str | int | None]
"""Query parameters (``None`` values are left out of the URL)."""


class CallOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`BrevoApi._call` (also taken by :meth:`BrevoApi._json`)."""

    path_params: PathParams | None
    params: QueryParams | None
    json: object
    data: bytes | None
    idempotent: bool | None


def format_brevo_datetime(moment: datetime) -> str:
    """Brevo's UTC query format ``YYYY-MM-DDTHH:mm:ss.SSSZ`` (a naive datetime is taken as UTC).

    Example:
        >>> format_brevo_datetime(datetime(2024, 5, 1, 12, 30, 5, 123456, tzinfo=timezone.utc))
        '2024-05-01T12:30:05.123Z'
    """
    return format_milliseconds(moment, "Z")


class BrevoApi(abc.ABC):
    """Base of the client's parts (contacts, imports, lists, ...): they call Brevo only via :meth:`_call`."""

    @abc.abstractmethod
    def _call(
        self,
        method: str,
        path: str,
        *,
        path_params: PathParams | None = None,
        params: QueryParams | None = None,
        json: object = None,
        data: bytes | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send one request through the funnel and return its successful response.

        Args:
            method: HTTP method.
            path: path under the base URL with ``{name}`` placeholders (``/contacts/{identifier}``),
                or an absolute ``https://`` URL (import reports). Errors and logs show this
                template, never the filled-in identifiers (e-mail addresses are personal data).
            path_params: values for the placeholders (URL-encoded here).
            params: query parameters.
            json: a JSON body (``None``: none).
            data: a body already encoded as JSON bytes.
            idempotent: whether a retry after an ambiguous failure is harmless; by default every
                method but POST is.

        Raises:
            AuthError: 401 (the API key is wrong or revoked).
            RetriableApiError: 429, 5xx, reset connections or timeouts, after the retries.
            FatalApiError: any other error answer, with Brevo's ``code`` and ``message``.
        """

    def _json(self, method: str, path: str, **options: Unpack[CallOptions]) -> JsonObject | None:
        """:meth:`_call` and decode the JSON answer (``None`` for an empty body).

        Raises:
            ProtocolError: the answer is not JSON, or (every Brevo answer the toolkit reads is
                one) not a JSON object.
        """
        response = self._call(method, path, **options)
        if not response.content:
            return None
        shown = path if not path.startswith("http") else ""
        try:
            answer = response.json()
        except ValueError:
            raise ProtocolError(
                f"the answer is not JSON ({response.headers.get('content-type') or 'no type'})",
                service="brevo",
                status=response.status_code,
                method=method.upper(),
                path=shown,
            ) from None
        if not isinstance(answer, dict):
            raise ProtocolError(
                f"the answer is a JSON {type(answer).__name__}, not an object",
                service="brevo",
                status=response.status_code,
                method=method.upper(),
                path=shown,
            )
        return answer

    def _field(
        self, answer: JsonObject | None, key: str, convert: Callable[[Any], T], *, method: str, path: str
    ) -> T:
        """``convert(answer[key])``, or a :class:`ProtocolError` naming the call when that fails."""
        try:
            if answer is None:
                raise KeyError(key)
            return convert(answer[key])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(
                f"the answer has no usable {key!r}", service="brevo", method=method, path=path
            ) from None

    def _paged(
        self,
        path: str,
        key: str,
        *,
        page_size: int,
        params: QueryParams | None = None,
        path_params: PathParams | None = None,
        max_page: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the pages (``response[key]``) of a ``limit``/``offset`` listing, oldest first.

        Stops on a short page, or once ``count`` items were seen, so that a listing whose size is
        a multiple of ``page_size`` costs no extra empty call.
        """
        if page_size < 1 or (max_page is not None and page_size > max_page):
            raise ValueError(f"page_size must be between 1 and {max_page or 'the API maximum'}")
        offset = 0
        while True:
            body = self._json(
                "GET",
                path,
                path_params=path_params,
                params={**(params or {}), "limit": page_size, "offset": offset, "sort": "asc"},
            )
            items = (body or {}).get(key) or []
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise ProtocolError(
                    f"the answer's {key!r} is not a list of objects", service="brevo", method="GET", path=path
                )
            if items:
                yield items
            offset += len(items)
            count = (body or {}).get("count")
            if len(items) < page_size or (isinstance(count, int) and offset >= count):
                return
