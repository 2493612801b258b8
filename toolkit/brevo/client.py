"""The Brevo client and its funnel: the one method every Brevo call goes through.

The funnel (:meth:`BrevoClient._call`) adds the ``api-key`` header, lets urllib3 retry 429
(waiting what ``x-sib-ratelimit-reset`` says), 5xx, reset connections and timeouts with backoff,
records the latest ``x-sib-ratelimit-*`` values in :attr:`BrevoClient.usage`, and maps error
answers to the toolkit's exception tree. The key is held as a :class:`~toolkit.credentials.Secret`
and revealed only into the request header; it never reaches a message, a log line or a repr.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeAlias
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import RequestHistory, Retry

from toolkit._version import __version__
from toolkit.credentials import Secret
from toolkit.exceptions import ApiError, AuthError, FatalApiError, RetriableApiError

from .account import AccountMixin
from .attributes import AttributesMixin
from .base import PathParams, QueryParams
from .contacts import ContactsMixin
from .email import EmailMixin
from .imports import ImportsMixin
from .lists import ListsMixin
from .retry import RESET_HEADER, RateLimitUsage, make_retry, reset_seconds
from .webhooks import WebhooksMixin

__all__ = ["BrevoClient", "ResponseHook"]

log = logging.getLogger(__name__)
SERVICE = "brevo"
ResponseHook: TypeAlias = Callable[[requests.Response], None]


class BrevoClient(
    ContactsMixin, ImportsMixin, ListsMixin, AttributesMixin, EmailMixin, AccountMixin, WebhooksMixin
):
    """Brevo API v3 over ``requests``: contacts, imports, lists, attributes, e-mail, account, webhooks.

    Args:
        base_url: the API root, ending in ``/v3`` (``https://api.brevo.com/v3`` or the sandbox's).
        api_key: the account's API key (a plain ``str`` is wrapped into a ``Secret``).
        ca_bundle: a CA bundle to trust instead of the system's (the sandbox's CA). When given,
            the environment (``REQUESTS_CA_BUNDLE``, proxies) is ignored.
        timeout: seconds to wait for a connection and for each read.
        max_retries: retries of one call after its first attempt.
        backoff_factor: base of the exponential backoff (seconds) for 5xx and network errors.
        hooks: callables given every final response (after retries), e.g. to meter calls.

    Example:
        >>> client = BrevoClient("https://api.brevo.com/v3", Secret("xkeysib-..."))  # doctest: +SKIP
        >>> pids = client.import_contacts(rows, list_ids=[7])                         # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str,
        api_key: Secret | str,
        *,
        ca_bundle: str | None = None,
        timeout: float = 30,
        max_retries: int = 6,
        backoff_factor: float = 0.5,
        hooks: Sequence[ResponseHook] = (),
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("base_url must be an absolute http(s) URL such as https://api.brevo.com/v3")
        self.base_url = base_url.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}".lower()
        self._base_path = parts.path.rstrip("/")
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        if not self._api_key:
            raise ValueError("api_key is empty")
        self.timeout = timeout
        self.max_retries = max_retries
        self.hooks: list[ResponseHook] = list(hooks)
        self._sessions = {
            idempotent: self._new_session(
                ca_bundle, make_retry(max_retries, backoff_factor=backoff_factor, idempotent=idempotent)
            )
            for idempotent in (True, False)
        }
        self._usage = RateLimitUsage()
        self._usage_lock = threading.Lock()

    @staticmethod
    def _new_session(ca_bundle: str | None, retry: Retry) -> requests.Session:
        session = requests.Session()
        if ca_bundle is not None:
            session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
            session.verify = ca_bundle
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=32)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {"user-agent": f"sf-brevo-toolkit/{__version__}", "accept": "application/json"}
        )
        return session

    @property
    def usage(self) -> RateLimitUsage:
        """The latest ``x-sib-ratelimit-*`` values, with the calls, retries and 429s counted so far."""
        with self._usage_lock:
            return self._usage

    def close(self) -> None:
        """Close the pooled connections."""
        for session in self._sessions.values():
            session.close()

    def __enter__(self) -> BrevoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BrevoClient(base_url={self.base_url!r}, api_key=***)"

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
        """The funnel; see :meth:`toolkit.brevo.base.BrevoApi._call`."""
        method = method.upper()
        url, shown = self._url(path, path_params)
        headers: dict[str, str] = {}
        if url.lower().startswith(self._origin + "/"):  # never send the key to another host
            headers["api-key"] = self._api_key.reveal()
        if json is not None:
            data = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if data is not None:
            headers["content-type"] = "application/json"
        session = self._sessions[method != "POST" if idempotent is None else idempotent]
        try:
            response = session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            self._count(None, method, shown)
            raise FatalApiError(
                f"TLS verification of {urlsplit(url).netloc} failed (check ca_bundle)",
                service=SERVICE,
                code="ssl_error",
                method=method,
                path=shown,
            ) from None
        except requests.RequestException as exc:
            self._count(None, method, shown)
            # The exception's own text holds the URL (e-mail identifiers): only its kind is kept.
            raise RetriableApiError(
                f"no usable answer ({type(exc).__name__})", service=SERVICE, method=method, path=shown
            ) from None
        self._count(response, method, shown)
        for hook in self.hooks:
            hook(response)
        if response.status_code < 300:
            log.debug("brevo %s %s -> %s", method, shown, response.status_code)
            return response
        raise self._error(response, method, shown)

    def _url(self, path: str, path_params: PathParams | None) -> tuple[str, str]:
        if path.startswith(("https://", "http://")):
            return path, urlsplit(path).path
        filled = path.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        return self.base_url + filled, self._base_path + path

    def _count(self, response: requests.Response | None, method: str, shown: str) -> None:
        history = _retry_history(response)
        throttled = sum(1 for h in history if h.status == 429)
        if response is not None and response.status_code == 429:
            throttled += 1
        with self._usage_lock:
            usage = self._usage.counted(retries=len(history), throttled=throttled)
            if response is not None:
                usage = usage.observed(response.headers, datetime.now(UTC))
            self._usage = usage
        if history:
            statuses = ", ".join(str(h.status or type(h.error).__name__) for h in history)
            log.info("brevo %s %s retried %d time(s): %s", method, shown, len(history), statuses)

    def _error(self, response: requests.Response, method: str, shown: str) -> ApiError | AuthError:
        code, message = _error_body(response)
        message = message.replace(self._api_key.reveal(), "***")
        status = response.status_code
        log.warning("brevo %s %s -> %s %s", method, shown, status, code or "")
        if status == 401:
            return AuthError(
                f"Brevo refused the API key ({code or 'unauthorized'}: {message})", service=SERVICE, code=code
            )
        if status == 429 or status >= 500:
            hint = reset_seconds(response.headers.get(RESET_HEADER)) if status == 429 else None
            return RetriableApiError(
                message,
                retry_after=hint,
                service=SERVICE,
                status=status,
                code=code,
                method=method,
                path=shown,
            )
        return FatalApiError(message, service=SERVICE, status=status, code=code, method=method, path=shown)


def _retry_history(response: requests.Response | None) -> tuple[RequestHistory, ...]:
    """The retries urllib3 made before ``response`` (none when there is no response)."""
    retries = getattr(getattr(response, "raw", None), "retries", None)  # urllib3's response, when real
    return retries.history if isinstance(retries, Retry) else ()


def _error_body(response: requests.Response) -> tuple[str | None, str]:
    """Brevo's ``{"code", "message"}``, or the HTTP reason when the body is something else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("code")
        message = body.get("message")
        return (
            str(code) if code is not None else None,
            str(message) if message else response.reason or "error",
        )
    return None, response.reason or f"HTTP {response.status_code}"
