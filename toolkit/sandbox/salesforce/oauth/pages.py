"""HTML of the sandbox's Salesforce-like login page and OAuth error page (no external assets)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import quote

from werkzeug.wrappers import Response

LOGIN_ERROR = (
    "Please check your username and password. If you still can't log in, "
    "contact your Salesforce administrator."
)

# OAuth parameters the login form carries through the POST in hidden inputs.
HIDDEN_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)

_STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:#f3f2f2;font-family:"Salesforce Sans",Arial,sans-serif;color:#16325c;
display:flex;flex-direction:column;align-items:center}
.logo{margin:48px 0 24px;font-size:34px;font-weight:700;color:#00a1e0;letter-spacing:-.5px}
.card{width:380px;max-width:92vw;background:#fff;border:1px solid #d8dde6;border-radius:4px;padding:20px 24px}
label{display:block;font-size:14px;color:#54698d;margin:12px 0 6px}
input[type=text],input[type=password]{width:100%;padding:12px;font-size:14px;border:1px solid #d8dde6;
border-radius:4px;color:#16325c}
input[type=text]:focus,input[type=password]:focus{outline:none;border-color:#1589ee;box-shadow:0 0 3px #0070d2}
.button{width:100%;margin-top:20px;padding:12px;font-size:15px;color:#fff;background:#0070d2;border:1px solid #0070d2;
border-radius:4px;cursor:pointer}
.button:hover{background:#005fb2}
.loginError{margin-bottom:8px;padding:10px 12px;color:#c23934;background:#fff;border:1px solid #c23934;
border-radius:4px;font-size:14px}
.note{margin:24px 0;font-size:12px;color:#54698d;text-align:center;max-width:380px}
h1{font-size:20px;margin:0 0 12px}
code{display:block;margin-top:12px;padding:8px;background:#f4f6f9;word-break:break-all;font-size:13px}
"""

_FOOTER = (
    '<p class="note">Toolkit sandbox: a local stand-in for Salesforce&#39;s login page. '
    "Nothing here reaches Salesforce.</p>"
)


def html_response(body: str, status: int = 200) -> Response:
    """An HTML page that may not be framed, cached or made to load anything from elsewhere."""
    resp = Response(body, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache, no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    )
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _page(title: str, content: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><div class="logo" aria-label="Salesforce sandbox">salesforce</div>'
        f'<main class="card">{content}</main>{_FOOTER}</body></html>'
    )


def login_page(params: Mapping[str, str], *, username: str = "", error: bool = False) -> Response:
    """The login form; ``error`` shows Salesforce's wrong-credentials message above it."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in HIDDEN_PARAMS
        if params.get(name)
    )
    message = (
        f'<div id="error" class="loginError" role="alert">{escape(LOGIN_ERROR, quote=False)}</div>'
        if error
        else ""
    )
    content = (
        f'{message}<form id="login_form" name="login" method="post" action="/services/oauth2/authorize" '
        f'autocomplete="off">{hidden}'
        f'<label for="username">Username</label>'
        f'<input type="text" id="username" name="username" value="{escape(username)}" required autofocus>'
        f'<label for="password">Password</label>'
        f'<input type="password" id="password" name="pw" value="" required>'
        f'<input class="button" type="submit" id="Login" name="Login" value="Log In">'
        f"</form>"
    )
    return html_response(_page("Login | Salesforce", content))


def error_page(error: str, description: str) -> Response:
    """The page Salesforce shows instead of redirecting when the client or redirect URI is not trusted."""
    detail = f"error={quote(error)}&error_description={quote(description)}"
    content = (
        "<h1>OAuth Error</h1><p>We can&#39;t authorize you because of an OAuth error. "
        "For more information, contact your Salesforce administrator.</p>"
        f'<code id="oauth_error">{escape(detail)}</code>'
    )
    return html_response(_page("OAuth Error | Salesforce", content), status=400)
