"""The phone region of an org: where national numbers of records naming no country are read.

Salesforce's ``Organization`` object holds the company's ``Country`` (a name, as entered in
Company Information) and ``DefaultLocaleSidKey`` (``de_DE``): the first a phone library knows
wins. One query, once per integration (the region is then stored on it and shown in the
wizard's mapping step, where the user may pick another).
"""

from __future__ import annotations

import logging

from toolkit.rules.values import country_region

from ..exceptions import ApiError
from ..salesforce import SalesforceClient

__all__ = ["locale_region", "org_region"]

log = logging.getLogger(__name__)


def locale_region(locale: str | None) -> str | None:
    """``"DE"`` from a Salesforce locale such as ``de_DE`` or ``de_DE_EURO`` (``None`` if none)."""
    parts = str(locale or "").split("_")
    region = parts[1] if len(parts) > 1 else ""
    return region.upper() if len(region) == 2 and region.isalpha() and country_region(region) else None


def org_region(sf: SalesforceClient) -> str | None:
    """The org's region from its ``Organization`` record, or ``None`` when it cannot be read."""
    try:
        pages = list(sf.query_pages("SELECT Country, DefaultLocaleSidKey FROM Organization LIMIT 1"))
    except ApiError as exc:  # e.g. a user without "View Setup": national numbers then need a country
        log.warning("the org's country could not be read (%s); set the integration's phone region", exc)
        return None
    record = next((r for page in pages for r in page), {})
    country = record.get("Country")
    return (country_region(country) if isinstance(country, str) and country else None) or locale_region(
        record.get("DefaultLocaleSidKey")
    )
