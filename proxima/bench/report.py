"""``proxima bench report``: every benchmark kind, written up as BENCHMARKS.md.

Runs each kind of :data:`proxima.bench.KINDS` (but itself) in turn, in this
process, then writes ``BENCHMARKS.md`` (beside the repository's README by
default): the machine (CPU, cores, memory, load, Python and every dependency's
version), each kind's figures as tables under the first paragraph of its own
docstring, and PNG plots in ``docs/bench/`` next to it, linked by relative
path: speech end -> reply and per-span latency per routing policy, the load
curve, and the wake word detection-error curve (``bench wake`` writes it
there). ``docs/bench/report.json`` keeps every figure.

The whole report must finish in under 15 minutes on 2 cores, so the long
kinds run a shorter configuration (:data:`SETTINGS`, stated in the report).
A kind that fails (a missing optional dependency, a tier that won't start)
is recorded with its error and the others still run.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
from pathlib import Path

from proxima.bench import KINDS, REPO, BenchOptions
from proxima.bench import run as run_kind
from proxima.bench.machine import describe_machine, load_average
from proxima.bench.plots import plot_latency, plot_load

SETTINGS: dict[str, tuple[dict, dict, str]] = {
    "frontend": ({"limit": 5}, {}, "5 clips of each kind"),
    "echo": ({"limit": 10}, {}, "10 alexa speakers and 10 onsets of the hey mycroft one, in each echo level"),
    "endpoint": ({"fast": True, "limit": 5}, {}, "5 speech clips, replayed as fast as possible: its figures "
                                                  "are in stream time, so pacing changes nothing but the wall time"),
    "local": ({"limit": 1}, {}, "one clip of each set"),
    "faults": ({"limit": 1}, {}, "one clip per fault (each fault starts its own regional process)"),
    "load": ({}, {"streams": 4}, "up to 4 concurrent streams"),
    "noise": ({"limit": 6}, {}, "6 speech clips (the 5 commands first) and every wake word positive, "
                                 "in each noise and setting"),
    "wyoming": ({}, {"clips": ["wyoming-faster-whisper/tests/living_room_light_en.wav",
                               "wyoming-faster-whisper/tests/turn_on_the_living_room_lamp.wav",
                               "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"]},
                "3 short speech clips (two Home Assistant commands, one sentence), about 1 min"),
}
"""Kind -> (BenchOptions changes, run keywords, why), so the report fits in 15 minutes."""

BUDGET_S = 15 * 60
PLOTS = Path("docs") / "bench"
"""Where the PNGs go, relative to BENCHMARKS.md."""


def run(opts: BenchOptions, rtt_ms: dict[str, float] | None = None, kinds: tuple[str, ...] | None = None,
        path: Path | None = None) -> dict:
    """Run ``kinds`` (default: all but ``report``) and write the report to
    ``path`` (default ``BENCHMARKS.md`` in the repository). ``opts.limit``,
    when set, caps every kind (quick runs). ``rtt_ms`` goes to ``bench latency``.

    Returns ``{"path": str, "seconds": s, "kinds": {kind: "ok" | error line}}``.
    """
    path = path or REPO / "BENCHMARKS.md"
    plots = path.parent / PLOTS
    plots.mkdir(parents=True, exist_ok=True)
    kinds = kinds or tuple(k for k in KINDS if k != "report")
    machine = describe_machine()
    started = time.monotonic()
    results: dict[str, dict] = {}
    for kind in kinds:
        changes, kw, why = SETTINGS.get(kind, ({}, {}, ""))
        kind_opts = dataclasses.replace(opts, out=plots, **changes)
        if opts.limit is not None:
            kind_opts = dataclasses.replace(kind_opts, limit=min(opts.limit, kind_opts.limit or opts.limit))
        if kind == "latency":
            kw = {**kw, "rtt_ms": rtt_ms, "peer": "peer" not in kinds}
        settings = [why] if why else []
        settings += [f"at most {kind_opts.limit} clips per set"] * (opts.limit is not None)
        settings += ["fast replay"] * (opts.fast and "fast" not in changes)
        t0 = time.monotonic()
        try:
            results[kind] = {"report": run_kind(kind, kind_opts, **kw)}
        except Exception as exc:  # one kind's failure is reported, not fatal
            results[kind] = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"}
        results[kind]["seconds"] = round(time.monotonic() - t0, 1)
        results[kind]["settings"] = "; ".join(settings) or "full"
    machine["load_average_end"] = load_average()
    total_s = time.monotonic() - started
    for kind, plot in (("latency", plot_latency), ("load", plot_load)):
        report = results.get(kind, {}).get("report")
        if report is not None:
            try:
                results[kind]["plot"] = str(plot(report, plots / f"{kind}.png").relative_to(path.parent))
            except (KeyError, TypeError, ValueError) as exc:  # a changed report shape loses the plot only
                results[kind]["plot_error"] = f"{type(exc).__name__}: {exc}"
    path.write_text(render(results, machine, total_s, path.parent), encoding="utf-8")
    (plots / "report.json").write_text(json.dumps({"machine": machine, "seconds": round(total_s, 1),
                                                   "results": results}, indent=1) + "\n", encoding="utf-8")
    return {"path": str(path), "seconds": round(total_s, 1),
            "kinds": {k: r.get("error", "ok") for k, r in results.items()}}


# -- Markdown ------------------------------------------------------------------------
def render(results: dict, machine: dict, total_s: float, root: Path) -> str:
    """BENCHMARKS.md from each kind's result (``report`` or ``error``, ``seconds``);
    image links relative to ``root``."""
    m = machine
    lines = [
        "# Benchmarks", "",
        f"Written by `proxima bench report` on {m['date']} at commit `{m['commit']}`; the run took "
        f"{total_s / 60:.1f} min{' (over the 15 min budget)' if total_s > BUDGET_S else ''}. "
        "Do not edit: run `proxima bench report` again. Every figure is also in "
        f"[`{(PLOTS / 'report.json').as_posix()}`]({(PLOTS / 'report.json').as_posix()}).", "",
        "## Machine", "",
        f"* CPU: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable by this process)",
        f"* Memory: {m['memory_gib']} GiB; {m['os']}; Python {m['python']}",
        f"* Load average (1, 5, 15 min) at the start {m['load_average_start']}, at the end "
        f"{m.get('load_average_end')}: anything else running on the machine slows the timings, and this "
        "machine's speed drifts about 15% between runs, so compare timings within one report.",
        *([f"* **This run shared the machine with other work** (load average above {m['cores']}, the core "
             "count): its timings are inflated and noisy; read differences of a few hundred ms as noise."]
          if max(m["load_average_start"][0], (m.get("load_average_end") or [0])[0]) > (m["cores"] or 1) else []),
        "* Libraries: " + ", ".join(f"{k} {v or '(not installed)'}" for k, v in m["libraries"].items()),
        "* Optional and test libraries: " + ", ".join(f"{k} {v or '(not installed)'}"
                                                     for k, v in m.get("optional_libraries", {}).items()), "",
        "| kind | result | time (s) | settings |", "|---|---|---|---|",
    ]
    for kind, r in results.items():
        lines.append(f"| [{kind}](#{kind}) | {'failed' if 'error' in r else 'ok'} | {r['seconds']} | {r['settings']} |")
    for kind, r in results.items():
        lines += ["", f"## {kind}", "", _summary(kind), ""]
        if "error" in r:
            lines += [f"**Failed:** `{r['error']}`"]
            continue
        if kind == "latency":
            lines += _latency(r["report"])
        elif kind == "wyoming":
            from proxima.bench.wyoming import markdown

            lines += markdown(r["report"], _tables)
        else:
            lines += _tables(r["report"])
        if "plot" in r:
            lines += ["", f"![{kind}]({r['plot']})"]
        if "plot_error" in r:
            lines += ["", f"(no plot: `{r['plot_error']}`)"]
        lines += ["", *[f"![{kind}]({_relative(p, root)})" for p in _pngs(r["report"])]]
    return "\n".join(lines).rstrip() + "\n"


def _summary(kind: str) -> str:
    """The first paragraph of the kind's module docstring, unwrapped."""
    try:
        doc = importlib.import_module(KINDS[kind]).__doc__ or ""
    except Exception:  # the kind's own import failed: its section shows that error
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _pngs(report) -> list[str]:
    """Every ``.png`` path a kind reported (e.g. bench wake's DET curve)."""
    if isinstance(report, dict):
        return [p for v in report.values() for p in _pngs(v)]
    if isinstance(report, list):
        return [p for v in report for p in _pngs(v)]
    return [report] if isinstance(report, str) and report.endswith(".png") else []


def _relative(png: str, root: Path) -> str:
    try:
        return Path(png).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return png


def _cell(v) -> str:
    """One table cell: p50/p95 pairs as "p50 / p95", lists joined, None as a dash."""
    if v is None:
        return "–"
    if isinstance(v, dict):
        if set(v) == {"p50", "p95"}:
            return f"{_cell(v['p50'])} / {_cell(v['p95'])}"
        return "; ".join(f"{k}: {_cell(x)}" for k, x in v.items()) or "–"
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v) or "–"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v).replace("|", "\\|")


def _table(rows: dict[str, dict] | list[dict], key: str = "") -> list[str]:
    items = list(rows.items()) if isinstance(rows, dict) else [(None, r) for r in rows]
    columns = list(dict.fromkeys(c for _, r in items for c in r))
    if isinstance(rows, dict) and len(columns) > max(8, 2 * len(items)):  # wide and short: turn it
        return _table({c: {name: r.get(c) for name, r in items} for c in columns}, key)
    head = ([key or " "] if isinstance(rows, dict) else []) + [c.replace("_", " ") for c in columns]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in items:
        cells = ([f"**{name}**"] if name is not None else []) + [_cell(r.get(c)) for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _tables(report, title: str = "") -> list[str]:
    """Any report as Markdown: scalars as a list, a dict of flat dicts or a list
    of dicts as a table, deeper dicts section by section. (p50/p95 pairs count
    as flat.)"""
    if isinstance(report, list):
        return ([f"**{title.replace('_', ' ')}**", ""] if title else []) + (_table(report) if all(isinstance(r, dict) for r in report)
                                                             else [f"* {_cell(report)}"])
    # Keys with a leading underscore are notes beside the figures (skipped clips, a plot's path).
    flat = {k: v for k, v in report.items() if not isinstance(v, (dict, list)) or _pair(v) or k.startswith("_")}
    rows = {k: v for k, v in report.items() if isinstance(v, dict) and not _pair(v) and _flat(v) and k not in flat}
    deeper = {k: v for k, v in report.items() if k not in flat and k not in rows}
    out = [f"**{title.replace('_', ' ')}**", ""] if title else []
    out += [f"* {k.strip('_').replace('_', ' ')}: {_cell(v)}" for k, v in flat.items() if not _pngs(v)]
    if rows:
        out += ([""] if flat else []) + _table(rows)
    for k, v in deeper.items():
        out += [""] + _tables(v, f"{title} {k}".strip())
    return out


def _pair(v) -> bool:
    return isinstance(v, dict) and set(v) == {"p50", "p95"}


def _flat(d: dict) -> bool:
    """True when ``d`` can be one table row: some plain values, and nothing
    deeper than a p50/p95 pair, a list of values or a small dict of values (a cell)."""
    def plain(v) -> bool:
        return not isinstance(v, (dict, list))

    def cell(v) -> bool:
        return (plain(v) or _pair(v) or (isinstance(v, list) and all(map(plain, v)))
                or (isinstance(v, dict) and all(map(plain, v.values()))))
    return any(plain(v) or _pair(v) for v in d.values()) and all(map(cell, d.values()))


def _latency(report: dict) -> list[str]:
    """The policy table, a sentence on what the numbers say, the spans, the peer."""
    runs = report["policies"]
    rtt = report.get("rtt_ms", {})
    out = [f"Replay: {report.get('replay')}; simulated round trip regional {rtt.get('regional', 0):g} ms, "
           f"cloud {rtt.get('cloud', 0):g} ms; clips: {', '.join(report.get('clips', []))}.", "",
           "| run | speech end -> reply p50 / p95 (ms) | local p50 | regional p50 | cloud p50 "
           "| speech end -> first audio p50 / p95 (ms) | local p50 | regional p50 | cloud p50 | bytes uplinked "
           "per utterance | utterances uplinked | answered locally | device CPU s per utterance |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, r in runs.items():
        if "error" in r:
            out.append(f"| {label} | failed: `{r['error']}` |||||||||||")
            continue
        by_route = r["speech_end_to_reply_ms_by_route"]
        sound = r.get("speech_end_to_first_audio_ms_by_route", {})
        out.append(" | ".join([f"| **{label}**", _cell(r["speech_end_to_reply_ms"]),
                               *[_cell(by_route.get(t, {}).get("p50")) for t in ("local", "regional", "cloud")],
                               _cell(r.get("speech_end_to_first_audio_ms")),
                               *[_cell(sound.get(t, {}).get("p50")) for t in ("local", "regional", "cloud")],
                               _cell(r["bytes_uplinked_per_utterance"]), _cell(r["utterances_uplinked"]),
                               _cell(r["answered_locally"]), _cell(r["device_cpu_s_per_utterance"])]) + " |")
    missing = [f"* `{label}`, no answer: {e}" for label, r in runs.items()
               for e in (*r.get("errors", ()), *r.get("unanswered", ()))]
    out += ["", *missing] if missing else []
    out += ["", *_reading(runs, rtt), "",
            "The tiers run on this machine too, on the same cores: under `parallel` the device's own ASR "
            "competes with the tier's decode, which a deployed device would not; and a tier that misses its "
            "deadline on a loaded machine hands the utterance on (`failed over` below; the cloud's answer "
            "then counts under `cloud`).", "",
            "Failovers per run (with the regional tier down, each question skips it: its breaker is open): "
            + ", ".join(f"{k} {v.get('failed_over', 0)}" for k, v in runs.items() if "error" not in v) + ".", "",
            "Span durations, p50 / p95 (ms), where the span occurred:", ""]
    spans = sorted({s for r in runs.values() for s in r.get("per_span_ms", {})})
    out += _table({s: {label: r.get("per_span_ms", {}).get(s) for label, r in runs.items() if "error" not in r}
                   for s in spans}, "span")
    if report.get("peer"):
        out += ["", *_tables(report["peer"], "Peer: Proxima's regional tier against wyoming-faster-whisper")]
    return out


def _reading(runs: dict, rtt: dict) -> list[str]:
    """Plain sentences on the comparisons the benchmark exists for (skipped where a run is missing)."""
    def p50(label, route):
        return runs.get(label, {}).get("speech_end_to_reply_ms_by_route", {}).get(route, {}).get("p50")

    out = []
    par, lf = runs.get("parallel", {}), runs.get("local-first", {})
    a, b = p50("parallel", "regional"), p50("local-first", "regional")
    if a and b:
        verdict = (f"`parallel` was {b - a:.0f} ms sooner" if a < b else
                   f"`parallel` was {a - b:.0f} ms slower here: its local ASR ran while the tier decoded, on the "
                   "same cores (see below)")
        out.append(f"* What `parallel` buys: questions the regional tier answered took {a:.0f} ms (p50) from the end "
                   "of speech under `parallel`, which streams from the wake word on so the tier starts its final "
                   f"decode at the pause, and {b:.0f} ms under `local-first`, which sends the audio only once its own "
                   f"ASR has declined: {verdict}.")
    if par.get("bytes_uplinked_per_utterance") is not None and lf.get("bytes_uplinked_per_utterance") is not None:
        out.append(f"* What it costs: {par['bytes_uplinked_per_utterance'] / 1000:.0f} kB uplinked per utterance "
                   f"against {lf['bytes_uplinked_per_utterance'] / 1000:.0f} kB; `parallel` streams "
                   f"{100 * par['utterances_uplinked']:.0f}% of utterances, `local-first` "
                   f"{100 * lf['utterances_uplinked']:.0f}%: the device commands it answers "
                   f"({100 * lf['answered_locally']:.0f}%) never leave the device.")
    opus = runs.get("parallel, opus uplink", {})
    if opus.get("bytes_uplinked_per_utterance") and par.get("bytes_uplinked_per_utterance"):
        out.append(f"* With the Opus uplink `parallel` sends {opus['bytes_uplinked_per_utterance'] / 1000:.0f} kB "
                   f"per utterance instead of {par['bytes_uplinked_per_utterance'] / 1000:.0f} kB.")
    c = p50("parallel, regional down", "cloud")
    if a and c:
        out.append(f"* What proximity is worth: with the regional tier ({rtt.get('regional', 0):g} ms round trip) "
                   f"down, the cloud ({rtt.get('cloud', 0):g} ms, and a beam of 5) answered the same questions in {c:.0f} ms "
                   f"(p50) against {a:.0f} ms: {c - a:+.0f} ms.")
    return out
