"""Bodies of the identity service: ``/services/oauth2/userinfo`` and the identity URL ``/id/<org>/<user>``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IdentityUser:
    """Who the integration user is, as the identity service describes them."""

    org_id: str
    user_id: str
    username: str
    first_name: str = "Integration"
    last_name: str = "User"
    timezone: str = "Europe/Berlin"
    utc_offset_ms: int = 3_600_000
    language: str = "en_US"
    locale: str = "en_US"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def nickname(self) -> str:
        return self.username.split("@", 1)[0]


def _urls(base: str, user: IdentityUser) -> dict[str, str]:
    # Salesforce leaves "{version}" for the client to fill in.
    org15 = user.org_id[:15]
    rest = f"{base}/services/data/v{{version}}/"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org15}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
        "rest": rest,
        "sobjects": rest + "sobjects/",
        "search": rest + "search/",
        "query": rest + "query/",
        "recent": rest + "recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org15}",
        "tooling_rest": rest + "tooling/",
        "profile": f"{base}/{user.user_id}",
        "users": rest + "chatter/users",
        "custom_domain": base,
    }


def _photos(base: str) -> dict[str, str]:
    return {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"}


def userinfo_body(user: IdentityUser, *, base: str, identity_url: str, updated: datetime) -> dict[str, Any]:
    """The OpenID Connect UserInfo answer Salesforce gives for the user of an access token."""
    return {
        "sub": identity_url,
        "user_id": user.user_id,
        "organization_id": user.org_id,
        "preferred_username": user.username,
        "nickname": user.nickname,
        "name": user.display_name,
        "email": user.username,
        "email_verified": True,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": user.timezone,
        "photos": _photos(base),
        "profile": f"{base}/{user.user_id}",
        "picture": _photos(base)["picture"],
        "address": {},
        "is_salesforce_integration_user": False,
        "urls": _urls(base, user),
        "active": True,
        "user_type": "STANDARD",
        "language": user.language,
        "locale": user.locale,
        "utcOffset": user.utc_offset_ms,
        "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "is_app_installed": True,
    }


def identity_body(user: IdentityUser, *, base: str, identity_url: str, updated: datetime) -> dict[str, Any]:
    """The answer of the identity URL (the ``id`` of a token response)."""
    return {
        "id": identity_url,
        "asserted_user": True,
        "user_id": user.user_id,
        "organization_id": user.org_id,
        "username": user.username,
        "nick_name": user.nickname,
        "display_name": user.display_name,
        "email": user.username,
        "email_verified": True,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": user.timezone,
        "photos": _photos(base),
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(base, user),
        "active": True,
        "user_type": "STANDARD",
        "language": user.language,
        "locale": user.locale,
        "utcOffset": user.utc_offset_ms,
        "last_modified_date": updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "is_app_installed": True,
    }
