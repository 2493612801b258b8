"""Who receives the quota e-mails and who sends them (SPEC Q2, Q3), with no setup needed.

Brevo's own integrations write to the account's e-mail. So do these e-mails, unless the settings
say otherwise:

- recipients: ``notify_to``, else the Brevo account's login e-mail (``GET /v3/account``,
  ``email``);
- sender: ``notify_from``, else an active sender of the account (``GET /v3/senders``): the one
  with the account's own address if it is active, else the active sender with the lowest id.

Configured settings always win (``toolkit.toml``, ``TOOLKIT_NOTIFY_TO``/``TOOLKIT_NOTIFY_FROM``).
The setup wizard shows what :func:`resolve_addresses` found and stores a change with
:func:`save_addresses`. The SMTP transport (``notify_transport = "smtp"``) relays through a server
that knows nothing of Brevo's senders: it needs both settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from toolkit.brevo import BrevoClient, pick_sender
from toolkit.config import ENV_PREFIX, Settings, save_settings
from toolkit.exceptions import ConfigError

__all__ = [
    "FROM_BREVO",
    "FROM_SETTINGS",
    "NO_ADDRESSES",
    "NotifyAddresses",
    "check_address",
    "fixed_by_environment",
    "resolve_addresses",
    "save_addresses",
]

FROM_SETTINGS = "settings"
FROM_BREVO = "Brevo account"
_DEFAULTS: dict[str, object] = {"notify_to": (), "notify_from": ""}
NO_ADDRESSES = (
    "quota notifications need the settings notify_from (a sender set up in Brevo) and notify_to "
    "(the recipients), or a Brevo API key so that they go to the Brevo account's e-mail from one "
    "of its active senders"
)
"""Why no quota e-mail can be sent: no address set and no Brevo account to ask."""


@dataclass(frozen=True, slots=True)
class NotifyAddresses:
    """The quota e-mails' recipients and sender, and where each came from.

    Attributes:
        to: the recipients' addresses.
        sender: the sender's address.
        to_source, sender_source: :data:`FROM_SETTINGS` or :data:`FROM_BREVO`.
        senders: the account's active senders' addresses (asked for with ``list_senders``).
    """

    to: tuple[str, ...]
    sender: str
    to_source: str
    sender_source: str
    senders: tuple[str, ...] = ()


def resolve_addresses(
    settings: Settings, brevo: BrevoClient | None, *, list_senders: bool = False
) -> NotifyAddresses:
    """The recipients and the sender the quota e-mails use now.

    Args:
        settings: ``notify_to`` and ``notify_from`` win when set.
        brevo: the account to ask for what the settings leave open (``None``: nothing to ask).
        list_senders: also list the account's active senders (for a choice), even when
            ``notify_from`` is set.

    Raises:
        ConfigError: something is left open and there is no Brevo account to ask, or the account
            has no e-mail or no active sender.
        ApiError, AuthError: Brevo could not be asked.
    """
    to, sender = tuple(settings.notify_to), settings.notify_from
    if (to and sender and not list_senders) or brevo is None:
        if not (to and sender):
            raise ConfigError(NO_ADDRESSES)
        return NotifyAddresses(to, sender, FROM_SETTINGS, FROM_SETTINGS)
    account_email = brevo.account()["email"] if not to or not sender else None
    senders = brevo.senders() if not sender or list_senders else []
    active = tuple(str(s["email"]) for s in senders if s.get("active") is True and s.get("email"))
    to_source = FROM_SETTINGS if to else FROM_BREVO
    if not to:
        to = (str(account_email),)
    sender_source = FROM_SETTINGS if sender else FROM_BREVO
    if not sender:
        chosen = pick_sender(senders, prefer=account_email)
        if chosen is None:
            raise ConfigError(
                "the Brevo account has no active sender to send the quota e-mails from: "
                "validate a sender in Brevo, or set notify_from"
            )
        sender = str(chosen["email"])
    return NotifyAddresses(to, sender, to_source, sender_source, active)


def check_address(text: str) -> str:
    """One e-mail address, normalised; :class:`ConfigError` when it is not one."""
    try:
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ConfigError(f"{text.strip()!r} is not an e-mail address: {exc}") from None


def fixed_by_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Settings of the quota e-mails set by environment variables (they win over ``toolkit.toml``).

    Returns:
        ``{"notify_to": "TOOLKIT_NOTIFY_TO", ...}`` for each one set.
    """
    env = os.environ if environ is None else environ
    names = {key: ENV_PREFIX + key.upper() for key in ("notify_to", "notify_from")}
    return {key: var for key, var in names.items() if env.get(var, "") != ""}


def save_addresses(
    settings: Settings, *, to: Iterable[str] | None = None, sender: str | None = None
) -> Settings:
    """Store chosen recipients and/or sender in ``toolkit.toml`` and return the settings with them.

    Args:
        settings: the settings in force (their ``state_dir`` holds ``toolkit.toml``).
        to: the recipients; ``None`` leaves them as they are, an empty list removes the setting
            (the Brevo account's e-mail again).
        sender: the sender's address; ``None`` leaves it, ``""`` removes the setting.

    Raises:
        ConfigError: an address that is not one, or ``toolkit.toml`` cannot be written.
    """
    changes: dict[str, object] = {}
    if to is not None:
        addresses = tuple(dict.fromkeys(check_address(a) for a in to if a.strip()))
        changes["notify_to"] = addresses or None
    if sender is not None:
        changes["notify_from"] = check_address(sender) if sender.strip() else None
    if not changes:
        return settings
    save_settings(settings.state_dir, **changes)
    return settings.replace(
        **{key: value if value is not None else _DEFAULTS[key] for key, value in changes.items()}
    )
