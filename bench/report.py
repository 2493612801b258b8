"""The benchmark's figures: the summary line, the targets, and Markdown tables for RESULTS.md."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

# Targets of issue 6: (key, comparison, bound, wording)
TARGETS = (
    ("calls_ratio", "<=", 1.05, "API calls <= 1.05 x the minimum"),
    ("floor_ratio", "<=", 1.3, "wall time <= 1.3 x the I/O floor"),
    ("naive_speedup", ">=", 100.0, ">= 100 x faster than the per-record script"),
    ("peak_rss_mb", "<=", 500.0, "peak RSS <= 500 MB (at 1M)"),
    ("incremental_calls_share", "<=", 0.02, "incremental calls <= 2% of a full run"),
    ("incremental_time_share", "<=", 0.02, "incremental time <= 2% of a full run"),
    ("postgresql_initial_ratio", "<=", 1.2, "PostgreSQL state: initial sync <= 1.2 x SQLite"),
    ("postgresql_incremental_ratio", "<=", 1.2, "PostgreSQL state: incremental run <= 1.2 x SQLite"),
    ("dashboard_seconds", "<=", 2.0, "dashboard data <= 2 s"),
    ("event_latency_p95_s", "<=", 5.0, "Brevo event -> Salesforce write <= 5 s p95"),
)


def machine() -> dict[str, Any]:
    """Cores, memory, load and versions of the machine the figures come from."""
    memory_kb = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            memory_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def summary_of(size: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one size (the keys the smoke test and TARGETS use)."""
    initial, incremental, naive = size["initial"], size.get("incremental") or {}, size.get("naive") or {}
    toolkit_seconds = sorted(initial["toolkit_seconds"])[len(initial["toolkit_seconds"]) // 2]
    return {
        "records": initial["records"],
        "calls": sum(initial["calls"].values()),
        "minimum_calls": sum(initial["minimum_calls"].values()),
        "calls_ratio": initial["calls_ratio"],
        "toolkit_seconds": toolkit_seconds,
        "floor_seconds": min(initial["floor_seconds"]),
        "floor_ratio": initial["floor_ratio"],
        "naive_seconds": naive.get("seconds"),
        "naive_speedup": naive["seconds"] / toolkit_seconds if naive else None,
        "peak_rss_mb": initial["peak_rss_mb"],
        "incremental_calls_share": incremental.get("incremental_calls_share"),
        "incremental_time_share": incremental.get("incremental_time_share"),
        "incremental_calls_vs_minimum": incremental.get("calls_vs_minimum"),
        "postgresql_initial_ratio": (size.get("backends") or {}).get("postgresql_initial_ratio"),
        "postgresql_incremental_ratio": (size.get("backends") or {}).get("postgresql_incremental_ratio"),
    }


def verdicts(summary: dict[str, Any]) -> dict[str, bool | None]:
    """Whether each target is met (``None`` when it was not measured)."""
    found: dict[str, bool | None] = {}
    for key, op, bound, _ in TARGETS:
        value = summary.get(key)
        found[key] = None if value is None else (value <= bound if op == "<=" else value >= bound)
    return found


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    """Tables per case, for RESULTS.md."""
    out = []
    m = results["machine"]
    out.append(
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, load {m['load_average']}, "
        f"Python {m['python']}, {m['system']}; {m['date']}.\n"
    )
    out.append("| case | N | figure | target | met |\n|---|---|---|---|---|")
    for n, size in results["sizes"].items():
        s = summary_of(size)
        met = verdicts(s)
        for key, op, bound, words in TARGETS[:-1]:
            if s.get(key) is None:
                continue
            out.append(
                f"| {words} | {int(n):,} | {_fmt(s[key], 3)} | {op} {bound:g} | "
                f"{'yes' if met[key] else 'no'} |"
            )
    if "dashboard" in results:
        d = results["dashboard"]
        out.append(
            f"| dashboard data (cold) | 10,000 runs, 1M rejections | "
            f"{_fmt(d['dashboard_seconds'], 3)} s | <= 2 s | {'yes' if d['dashboard_seconds'] <= 2 else 'no'} |"
        )
    for n, size in results["sizes"].items():
        out.append(_initial_table(int(n), size))
    if "dashboard" in results:
        out.append(_dashboard_table(results["dashboard"]))
    return "\n".join(out) + "\n"


def _initial_table(n: int, size: dict[str, Any]) -> str:
    i, inc, nv = size["initial"], size.get("incremental"), size.get("naive")
    rows = [
        f"\n#### N = {n:,}\n",
        "| figure | value |",
        "|---|---|",
        f"| API calls (Salesforce + Brevo) | {i['calls']['salesforce']} + {i['calls']['brevo']} |",
        f"| minimum | {i['minimum_calls']['salesforce']} + {i['minimum_calls']['brevo']} "
        f"({i['import_bytes'] / 1e6:.1f} MB of import bodies) |",
        f"| toolkit wall time per repetition (s) | {', '.join(_fmt(x) for x in i['toolkit_seconds'])} |",
        f"| I/O floor per repetition (s) | {', '.join(_fmt(x) for x in i['floor_seconds'])} |",
        f"| ratio per repetition | {', '.join(_fmt(x) for x in i['floor_ratios'])} |",
        f"| peak RSS of the sync process (MB) | {_fmt(i['peak_rss_mb'], 0)} |",
        f"| sandbox process peak RSS (MB) | {_fmt(size.get('host_rss_mb'), 0)} |",
    ]
    if size.get("backends"):
        b = size["backends"]
        for backend in ("sqlite", "postgresql"):
            runs = b["runs"][backend]
            rows.append(
                f"| state on {backend}: initial / settle / incremental run (s, per repetition) | "
                + "; ".join(" / ".join(_fmt(r[step]["seconds"]) for step in r) for r in runs)
                + " |"
            )
        rows.append(
            f"| PostgreSQL / SQLite (medians of {b['reps']}) | initial {_fmt(b['postgresql_initial_ratio'])}, "
            f"incremental {_fmt(b['postgresql_incremental_ratio'])} |"
        )
    if nv:
        how = (
            "whole query_all"
            if nv["query_pages_read"] < 0
            else f"{nv['query_pages_read']} of {-(-nv['total_records'] // 2000)} query pages"
        )
        rows += [
            f"| per-record script, extrapolated (s) | {_fmt(nv['seconds'], 0)} ({how}, "
            f"{nv['sample']} POSTs timed, {nv['seconds_per_post'] * 1000:.1f} ms each; rate limit 0) |",
            f"| same at Brevo's 10 requests/s | {_fmt(nv['seconds_at_10_per_second'], 0)} s |",
        ]
    if inc:
        settle = inc["settle"]
        rows += [
            "| first run after the initial load (s, calls) | "
            + (
                f"{settle['skipped']}"
                if settle.get("skipped")
                else f"{_fmt(settle['seconds'])}, {sum(settle['calls'].values())}"
            )
            + " |",
            f"| incremental, {inc['changed']['salesforce_changed']:,} + {inc['changed']['brevo_changed']:,} "
            f"changed: calls (minimum) | {sum(inc['calls'].values())} ({sum(inc['minimum_calls'].values())}) |",
            f"| incremental wall time (s) | {_fmt(inc['seconds'])} |",
        ]
    return "\n".join(rows)


def _dashboard_table(d: dict[str, Any]) -> str:
    h = d["history"]
    rows = [
        f"\n#### Dashboard ({h['runs']:,} runs, {h['rejections']:,} rejections, {h['db_mb']:.0f} MB database)\n",
        "| call | before the fix: cold (s) | warm (s) | the dashboard now: cold (s) | warm (s) |",
        "|---|---|---|---|---|",
    ]
    built, lean = d["before"], d["dashboard"]
    labels = list(dict.fromkeys([*built["cold"]["calls"], *(lean["cold"]["calls"] if lean else [])]))
    for label in labels:
        cells = []
        for data in (built, lean):
            for phase in ("cold", "warm"):
                value = (data or {}).get(phase, {}).get("calls", {}).get(label)
                cells.append(_fmt(value, 3))
        rows.append(f"| `{label}` | {' | '.join(cells)} |")
    totals = [
        _fmt(x, 3)
        for data in (built, lean)
        for x in ((data or {}).get("cold", {}).get("seconds"), (data or {}).get("warm", {}).get("seconds"))
    ]
    rows.append(f"| **total** | {' | '.join(totals)} |")
    rows.append(
        f"| `QuotaDashboard(tk)` built (calls, chart and HTML) | | | {_fmt(d.get('widget_seconds'), 3)} | |"
    )
    return "\n".join(rows)
