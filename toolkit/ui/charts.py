"""Static charts as PNG bytes (matplotlib's Agg canvas: no pyplot state, no display needed).

PNG keeps the charts visible everywhere: in a Voilà page (an ``Image`` widget), in a notebook
exported to HTML without code, and in a saved papermill output.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from toolkit.quota import DayUsage

__all__ = ["rules_chart", "usage_chart"]

BLUE, ORANGE, RED, GREY = "#1f6fb2", "#e69500", "#c62828", "#888888"
_THOUSANDS = FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def usage_chart(
    days: Sequence[DayUsage], *, limit: int, warning_share: float, forecast: int, month_end: datetime
) -> bytes:
    """Tasks per day (bars) beside the month's running total against the 80% and 100% marks.

    Args:
        days: :meth:`toolkit.quota.Quota.usage_by_day` rows (``day``, ``tasks``, ``cumulative``).
        limit: the monthly limit (the 100% mark).
        warning_share: where the warning mark goes (0.8).
        forecast: projected tasks at the month's end (B2), drawn as a dashed line from today.
        month_end: the first moment of the next month.

    Returns:
        The chart as PNG bytes.
    """
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    per_day, total = fig.subplots(1, 2, width_ratios=[1, 1.3])
    x = [row["day"] for row in days]
    per_day.bar(x, [row["tasks"] for row in days], color=BLUE, width=0.8)
    per_day.yaxis.set_major_locator(MaxNLocator(integer=True))
    per_day.set_title("Tasks per day", loc="left", fontsize=11)
    cumulative = [row["cumulative"] for row in days]
    total.plot(x, cumulative, color=BLUE, linewidth=2, label="used")
    last_day: date = (month_end - timedelta(days=1)).date()
    if x:
        total.plot(
            [x[-1], last_day],
            [cumulative[-1], forecast],
            color=BLUE,
            linestyle="--",
            linewidth=1.5,
            label=f"forecast: {forecast:,}",
        )
    total.axhline(
        limit * warning_share,
        color=ORANGE,
        linewidth=1.2,
        label=f"{warning_share:.0%}: {round(limit * warning_share):,}",
    )
    total.axhline(limit, color=RED, linewidth=1.2, label=f"100%: {limit:,}")
    total.set_ylim(0, max(limit, forecast, cumulative[-1] if cumulative else 0) * 1.08)
    total.set_title("This month against the limit", loc="left", fontsize=11)
    total.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=9, frameon=False)
    for ax in (per_day, total):
        # matplotlib.dates is unannotated (matplotlib ships no stub for it)
        ax.xaxis.set_major_locator(DayLocator(bymonthday=(1, 8, 15, 22)))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%-d %b"))  # type: ignore[no-untyped-call]
        ax.yaxis.set_major_formatter(_THOUSANDS)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#e5e5e5")
    if x:
        for ax in (per_day, total):
            ax.set_xlim(x[0] - timedelta(days=1), last_day + timedelta(days=1))
    return _png(fig)


def rules_chart(counts: dict[str, int], *, title: str = "Rejected records by rule") -> bytes:
    """A horizontal bar per rule, largest on top, each labelled with its count."""
    items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    fig = Figure(figsize=(8, max(1.6, 0.45 * len(items) + 0.9)), layout="constrained")
    ax = fig.subplots()
    if not items:
        ax.text(0.5, 0.5, "No rejected records", ha="center", va="center", color=GREY, fontsize=12)
        ax.set_axis_off()
        return _png(fig)
    labels, values = [k for k, _ in items], [v for _, v in items]
    bars = ax.barh(labels, values, color=BLUE)
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=9)
    ax.set_title(title, loc="left", fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(_THOUSANDS)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max(values) * 1.15)
    return _png(fig)
