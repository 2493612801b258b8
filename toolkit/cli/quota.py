"""``toolkit quota show|set-limit N|notify``: the monthly task quota from the command line (Q1-Q3, B2).

``show`` prints the month's usage, forecast, usage per integration and the quota e-mails
(``--json`` for machines); ``set-limit N`` stores a new monthly limit (``set-limit default``
goes back to the ``quota_limit`` setting) and resumes integrations stopped for the quota when
tasks are left; ``notify`` sends the pending quota e-mails.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from toolkit.config import Settings
from toolkit.credentials import CredentialStore
from toolkit.notify import notify_pending
from toolkit.quota import Quota, QuotaStatus
from toolkit.store import IntegrationStatus, Store

__all__ = ["add_commands"]


def _limit(text: str) -> int | None:
    if text.lower() == "default":
        return None
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of tasks: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the limit must be a positive number of tasks")
    return value


def _open() -> tuple[Settings, Store]:
    settings = Settings.from_env()
    return settings, Store.from_settings(settings)


def _status_lines(status: QuotaStatus) -> list[str]:
    lines = [
        (
            f"Quota {status.month}: {status.used:,} of {status.limit:,} tasks used "
            f"({status.share:.1%}), {status.remaining:,} left; state {status.state}"
        ),
        f"Reserved by running runs: {status.reserved:,}",
        (
            f"Forecast for the month's end: {status.forecast:,} ({status.forecast_share:.1%})"
            + (f", limit reached around {status.exhausted_on:%Y-%m-%d}" if status.exhausted_on else "")
        ),
        f"Resets: {status.resets_at:%Y-%m-%d %H:%M} UTC",
    ]
    return lines


def _show(args: argparse.Namespace) -> int:
    settings, store = _open()
    with store:
        quota = Quota(store, settings)
        status = quota.status()
        by_integration = quota.usage_by_integration()
        notifications = quota.notifications(status.month)
    if args.json:
        print(
            json.dumps(
                {"status": asdict(status), "by_integration": by_integration, "notifications": notifications},
                indent=2,
                default=str,
                ensure_ascii=False,
            )
        )
        return 0
    lines = _status_lines(status)
    if by_integration:
        width = max(len(row["integration"]) for row in by_integration)
        lines.append("By integration:")
        lines += [f"  {row['integration']:<{width}}  {row['tasks']:>12,}" for row in by_integration]
    if notifications:
        lines.append("E-mails:")
        lines += [
            f"  {n['kind']:<16} {n['status']}" + (f" ({n['error']})" if n["error"] else "")
            for n in notifications
        ]
    print("\n".join(lines))
    return 0


def _set_limit(args: argparse.Namespace) -> int:
    settings, store = _open()
    with store:
        quota = Quota(store, settings)
        stopped_before = {i.name for i in store.list_integrations(status=IntegrationStatus.STOPPED)}
        status = quota.set_limit(args.limit)
        resumed = sorted(
            stopped_before - {i.name for i in store.list_integrations(status=IntegrationStatus.STOPPED)}
        )
    source = "stored" if args.limit is not None else "from the settings"
    print(f"Monthly limit {status.limit:,} tasks ({source}).")
    print("\n".join(_status_lines(status)))
    if resumed:
        print(f"Resumed: {', '.join(resumed)}")
    return 0


def _notify(_args: argparse.Namespace) -> int:
    settings, store = _open()
    with store:
        report = notify_pending(store, settings, CredentialStore(settings.state_dir))
    if report.skipped:
        print(f"Not sent: {report.skipped}")
        return 2
    print(
        f"sent {len(report.sent)}, to retry {len(report.retry)}, failed {len(report.failed)}, "
        f"unconfirmed {len(report.unconfirmed)}"
    )
    return 1 if report.failed else 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``quota`` (``show``, ``set-limit``, ``notify``) to the ``toolkit`` parser's sub-commands."""
    quota = sub.add_parser("quota", help="the monthly task quota: usage, forecast, limit (Q1-Q3, B2)")
    qsub = quota.add_subparsers(dest="quota_command", required=True)
    show = qsub.add_parser("show", help="this month's usage, forecast and quota e-mails")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)
    limit = qsub.add_parser("set-limit", help="store a new monthly limit (resumes stopped integrations)")
    limit.add_argument(
        "limit", type=_limit, metavar="N", help='tasks per month, or "default" for the setting'
    )
    limit.set_defaults(func=_set_limit)
    qsub.add_parser("notify", help="send the pending quota e-mails").set_defaults(func=_notify)
