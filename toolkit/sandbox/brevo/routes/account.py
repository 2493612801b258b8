"""HTTP handlers of the account and its senders: ``GET /account`` (getAccount), ``GET /senders`` (getSenders)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from toolkit.sandbox.http import Route, json_response

if TYPE_CHECKING:
    from toolkit.sandbox.brevo.account import BrevoAccount


def _get_account(account: BrevoAccount, request: Request) -> Response:
    with account.lock:
        return json_response(account.profile.to_json())


def _get_senders(account: BrevoAccount, request: Request) -> Response:
    """Every sender, or those of one e-mail ``domain`` / one dedicated ``ip`` (both filters may apply)."""
    domain = (request.args.get("domain") or "").strip().lower()
    ip = (request.args.get("ip") or "").strip()
    with account.lock:
        senders = [
            s
            for s in account.senders
            if (not domain or s.email.rpartition("@")[2].lower() == domain)
            and (not ip or any(item.get("ip") == ip for item in s.ips))
        ]
        return json_response({"senders": [s.to_json() for s in senders]})


ROUTES: list[Route] = [
    ("getAccount", "GET", "/v3/account", _get_account),
    ("getSenders", "GET", "/v3/senders", _get_senders),
]
