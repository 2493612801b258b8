"""The benchmark's figures: the summary line, the targets, and Markdown tables for RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
from datetime import UTC, datetime
from typing import Any, NamedTuple


class Target(NamedTuple):
    """One line of issue 17's target table."""

    key: str
    op: str  # "<=" or ">="
    bound: float
    words: str
    per_size: bool = True  # a figure of each size (else one for the whole invocation)


# Targets of issue 17 (which replaced issue 6's "incremental <= 2% of a full run")
TARGETS = (
    Target("calls_ratio", "<=", 1.05, "initial sync: API calls <= 1.05 x the minimum"),
    Target("floor_ratio", "<=", 1.3, "initial sync: wall time <= 1.3 x the I/O floor"),
    Target("peak_rss_mb", "<=", 400.0, "peak RSS of the sync <= 400 MB"),
    Target("rss_growth", "<=", 1.15, "peak RSS flat: at the largest size <= 1.15 x at the smallest", False),
    Target("incremental_calls_ratio", "<=", 1.1, "incremental (1% each way): calls <= 1.1 x its minimum"),
    Target("incremental_floor_ratio", "<=", 1.5, "incremental: wall time <= 1.5 x its I/O floor"),
    Target("event_latency_p95_s", "<=", 5.0, "event path: Brevo event -> Salesforce write, p95 (s)", False),
    Target("postgresql_initial_ratio", "<=", 1.2, "PostgreSQL state: initial sync <= 1.2 x SQLite"),
    Target("postgresql_incremental_ratio", "<=", 1.2, "PostgreSQL state: incremental run <= 1.2 x SQLite"),
    Target("naive_speedup", ">=", 100.0, "per-record script >= 100 x slower (rate limit 0)"),
    Target("dashboard_seconds", "<=", 2.0, "dashboard data <= 2 s (cold)", False),
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


def _share(cpu: list[float], wall: list[float]) -> float:
    """The median over repetitions of CPU seconds over wall seconds."""
    return statistics.median(c / w for c, w in zip(cpu, wall, strict=True))


def summary_of(size: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one size (the keys the smoke test and TARGETS use).

    The CPU shares are CPU seconds over the wall seconds of the run timed: the sandbox's
    (``sandbox_cpu_share``) and the toolkit's own (``toolkit_cpu_share``) during the toolkit's
    initial sync, the sandbox's during the initial floor (``floor_sandbox_cpu_share``), and the
    same for the incremental run and its floor. Two cores: shares adding up to about 2 mean the
    client waited for a core.
    """
    initial, incremental, naive = size["initial"], size.get("incremental") or {}, size.get("naive") or {}
    toolkit_seconds = sorted(initial["toolkit_seconds"])[len(initial["toolkit_seconds"]) // 2]
    cpu, inc_cpu = initial["cpu"], incremental.get("cpu")
    backends = size.get("backends") or {}
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
        "naive_speedup_at_10_per_second": naive["seconds_at_10_per_second"] / toolkit_seconds
        if naive
        else None,
        "peak_rss_mb": initial["peak_rss_mb"],
        "incremental_calls_ratio": incremental.get("incremental_calls_ratio"),
        "incremental_seconds": incremental.get("seconds"),
        "incremental_floor_seconds": (incremental.get("floor") or {}).get("seconds"),
        "incremental_floor_ratio": incremental.get("incremental_floor_ratio"),
        "postgresql_initial_ratio": backends.get("postgresql_initial_ratio"),
        "postgresql_incremental_ratio": backends.get("postgresql_incremental_ratio"),
        "sandbox_cpu_share": _share(cpu["sandbox_cpu_seconds"], initial["toolkit_seconds"]),
        "toolkit_cpu_share": _share(cpu["toolkit_cpu_seconds"], initial["toolkit_seconds"]),
        "floor_sandbox_cpu_share": _share(cpu["floor_sandbox_cpu_seconds"], initial["floor_seconds"]),
        "incremental_sandbox_cpu_share": (
            _share([inc_cpu["sandbox_cpu_seconds"]], [incremental["seconds"]]) if inc_cpu else None
        ),
        "incremental_floor_sandbox_cpu_share": (
            _share([inc_cpu["floor_sandbox_cpu_seconds"]], [incremental["floor"]["seconds"]])
            if inc_cpu
            else None
        ),
    }


def verdicts(summary: dict[str, Any]) -> dict[str, bool | None]:
    """Whether each target is met (``None`` when it was not measured)."""
    found: dict[str, bool | None] = {}
    for key, op, bound, *_ in TARGETS:
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


def _met(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def markdown(results: dict[str, Any]) -> str:
    """Issue 17's target table (a row per target and size), then the figures per size, for RESULTS.md."""
    m = results["machine"]
    out = [
        f"Machine: {m['cores']} cores, {m['memory_gb']} GB, load {m['load_average']}, "
        f"Python {m['python']}, {m['system']}; {m['date']}.\n",
        "| target (issue 17) | N | figure | target | met |\n|---|---|---|---|---|",
    ]
    summaries = {int(n): summary_of(size) for n, size in results["sizes"].items()}
    whole = results.get("summary") or {}
    for t in TARGETS:
        rows = summaries.items() if t.per_size else [(None, whole)]
        for n, s in rows:
            value = s.get(t.key)
            if value is None:
                continue
            figure = _fmt(value, 0 if t.key == "peak_rss_mb" else 3)
            if t.key == "naive_speedup":
                figure += f" ({_fmt(s['naive_speedup_at_10_per_second'], 1)} at Brevo's 10 requests/s)"
            out.append(
                f"| {t.words} | {_target_n(t.key, n, results)} | {figure} | {t.op} {t.bound:g} | "
                f"{_met(verdicts({t.key: value})[t.key])} |"
            )
    for n, s in summaries.items():
        out.append(
            f"| sandbox CPU / wall: toolkit's initial sync (its floor) | {n:,} | "
            f"{_fmt(s['sandbox_cpu_share'])} ({_fmt(s['floor_sandbox_cpu_share'])}) | | |"
        )
        if s["incremental_sandbox_cpu_share"] is not None:
            out.append(
                f"| sandbox CPU / wall: incremental run (its floor) | {n:,} | "
                f"{_fmt(s['incremental_sandbox_cpu_share'])} ({_fmt(s['incremental_floor_sandbox_cpu_share'])}) | | |"
            )
    for n, size in results["sizes"].items():
        out.append(_initial_table(int(n), size))
    if "dashboard" in results:
        out.append(_dashboard_table(results["dashboard"]))
    return "\n".join(out) + "\n"


def _target_n(key: str, n: int | None, results: dict[str, Any]) -> str:
    """The N column: the size, or what a whole-invocation figure was measured on."""
    if n is not None:
        return f"{n:,}"
    if key == "rss_growth":
        rss = results["rss"]
        sizes = sorted(int(k) for k in rss["peak_rss_mb"])
        return " -> ".join(f"{k:,}" for k in sizes) + (" (a toolkit-only run)" if rss.get("extra") else "")
    if key == "event_latency_p95_s":
        return f"{results['events']['events']} events"
    if key == "dashboard_seconds":
        h = results["dashboard"]["history"]
        return f"{h['runs']:,} runs, {h['rejections']:,} rejections"
    return ""


def _cpu_row(label: str, wall: list[float], cpu: list[float], sandbox: list[float]) -> str:
    """Wall, the client's own CPU and the sandbox's CPU seconds, per repetition."""
    cells = "; ".join(
        f"{_fmt(w)} / {_fmt(c)} / {_fmt(sb)}" for w, c, sb in zip(wall, cpu, sandbox, strict=True)
    )
    return f"| {label}: wall / own CPU / sandbox CPU (s) | {cells} |"


def _initial_table(n: int, size: dict[str, Any]) -> str:
    i, inc, nv = size["initial"], size.get("incremental"), size.get("naive")
    cpu = i["cpu"]
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
        _cpu_row(
            "toolkit's initial sync",
            i["toolkit_seconds"],
            cpu["toolkit_cpu_seconds"],
            cpu["sandbox_cpu_seconds"],
        ),
        _cpu_row(
            "initial floor", i["floor_seconds"], cpu["floor_cpu_seconds"], cpu["floor_sandbox_cpu_seconds"]
        ),
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
        rows += _incremental_rows(inc)
    return "\n".join(rows)


def _incremental_rows(inc: dict[str, Any]) -> list[str]:
    settle, floor, cpu = inc["settle"], inc["floor"], inc["cpu"]
    return [
        "| first run after the initial load (s, calls) | "
        + (
            f"{settle['skipped']}"
            if settle.get("skipped")
            else f"{_fmt(settle['seconds'])}, {sum(settle['calls'].values())}"
        )
        + " |",
        f"| incremental, {inc['changed']['salesforce_changed']:,} + {inc['changed']['brevo_changed']:,} "
        f"changed: calls (minimum) | {sum(inc['calls'].values())} ({sum(inc['minimum_calls'].values())}) |",
        f"| incremental wall time / its I/O floor (s) | {_fmt(inc['seconds'])} / {_fmt(floor['seconds'])} "
        f"= {_fmt(inc['incremental_floor_ratio'])} x (floor: {sum(floor['calls'].values())} calls) |",
        _cpu_row(
            "incremental run", [inc["seconds"]], [cpu["toolkit_cpu_seconds"]], [cpu["sandbox_cpu_seconds"]]
        ),
        _cpu_row(
            "incremental floor",
            [floor["seconds"]],
            [cpu["floor_cpu_seconds"]],
            [cpu["floor_sandbox_cpu_seconds"]],
        ),
    ]


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
