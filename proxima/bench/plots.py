"""``bench report``'s plots (matplotlib's Agg canvas, no GUI backend or pyplot state)."""

from __future__ import annotations

from pathlib import Path


LATE_SPANS_SKIPPED = ("utterance", "device.capture", "device.uplink", "device.wake")
"""Spans left out of the per-span plot: the whole, the speech itself and the
stream's lifetime dwarf the stages after the end of speech."""


def plot_latency(report: dict, path: Path) -> Path:
    """Two panels: speech end -> reply per run and route (p50 bar, p95 tick),
    and the p50 of each span of 5 ms or more per run."""
    from matplotlib.figure import Figure  # Agg canvas, no GUI backend or pyplot state

    runs = {k: v for k, v in report["policies"].items() if "error" not in v}
    labels = list(runs)
    fig = Figure(figsize=(13, 6), layout="constrained")
    left, right = fig.subplots(1, 2)
    routes = [r for r in ("local", "regional", "cloud", "offline")
              if any(r in v["speech_end_to_reply_ms_by_route"] for v in runs.values())]
    _bars(left, labels, routes, lambda label, route: runs[label]["speech_end_to_reply_ms_by_route"].get(route))
    left.set_xlabel("speech end -> reply (ms), by the route that answered: p50 bar, p95 tick")
    spans = sorted(s for s in {s for r in runs.values() for s in r["per_span_ms"]} - set(LATE_SPANS_SKIPPED)
                   if max((r["per_span_ms"].get(s) or {}).get("p50") or 0 for r in runs.values()) >= 5)
    _bars(right, spans, labels, lambda span, label: runs[label]["per_span_ms"].get(span))
    right.set_xlabel("span duration (ms): p50 bar, p95 tick")
    rtt = report.get("rtt_ms", {})
    fig.suptitle(f"Routing policies ({report.get('replay', '')} replay; simulated round trip "
                 f"regional {rtt.get('regional', 0):g} ms, cloud {rtt.get('cloud', 0):g} ms)")
    fig.savefig(path, dpi=100)
    return path


def _bars(ax, groups: list[str], series: list[str], value) -> None:
    """Horizontal grouped bars: one group per ``groups`` entry, one bar per
    ``series`` entry, ``value(group, series)`` a p50/p95 dict or None."""
    height = 0.8 / max(len(series), 1)
    for i, name in enumerate(series):
        ys = [g + i * height for g in range(len(groups))]
        pairs = [value(group, name) or {} for group in groups]
        bars = ax.barh(ys, [p.get("p50") or 0 for p in pairs], height=height, label=name)
        ax.scatter([p.get("p95") or float("nan") for p in pairs], ys, marker="|", s=60,
                   color=bars.patches[0].get_facecolor() if bars.patches else None, zorder=3)
    ax.set_yticks([g + 0.4 - height / 2 for g in range(len(groups))], groups)
    ax.invert_yaxis()
    ax.legend(fontsize="small", loc="best")


def plot_load(report: dict, path: Path) -> Path:
    """Speech end -> final and end of audio -> final (p50, p95 dashed) and the
    real-time factor against the number of concurrent streams."""
    from matplotlib.figure import Figure

    rows = report["load"]
    n = [r["streams"] for r in rows]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for key, color in (("speech_end_to_final_ms", "tab:blue"), ("end_of_audio_to_final_ms", "tab:orange")):
        ax.plot(n, [r[key]["p50"] for r in rows], marker="o", color=color, label=f"{key[:-3]} p50")
        ax.plot(n, [r[key]["p95"] for r in rows], linestyle="--", color=color, label=f"{key[:-3]} p95")
    ax.set_xlabel("concurrent streams")
    ax.set_ylabel("ms")
    ax.set_xticks(n)
    rtf = ax.twinx()
    rtf.plot(n, [r["rtf"] for r in rows], marker="s", color="tab:green", label="real-time factor")
    rtf.set_ylabel("ASR real-time factor")
    lines = ax.get_legend_handles_labels()
    more = rtf.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize="small", loc="upper left")
    fig.suptitle("One regional tier under concurrent real-time streams")
    fig.savefig(path, dpi=100)
    return path
