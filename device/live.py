"""The live view (rich): what the assistant hears, thinks and answers, as it happens.

One screen, redrawn about ten times a second by :class:`rich.live.Live`: the
input level meter, a score bar per wake model against its threshold, the state
(idle, listening, thinking, speaking), the tier's interim transcript and then
the final one, the route, intent and reply, and the last utterance's waterfall.
Each finished utterance is also printed above the screen, so it stays in the
terminal's scroll-back. Used only when stdout is a terminal and ``--json`` is
not given; otherwise the device prints plain lines (:mod:`device.reply`).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from device.events import AudioFrame, UtteranceResult
from device.reply import human_text
from common.tracing import waterfall

BAR = 24
"""Width of the meter and score bars, characters."""
FLOOR_DBFS = -60.0
"""Bottom of the level meter, dBFS."""
STATE_STYLE = {"idle": "dim", "listening": "bold green", "thinking": "bold yellow", "speaking": "bold cyan"}


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of ``int16`` samples, dBFS (full-scale sine ≈ -3); ``FLOOR_DBFS`` for silence."""
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64))))) / 32768.0 if len(samples) else 0.0
    return max(FLOOR_DBFS, 20.0 * math.log10(rms)) if rms > 0 else FLOOR_DBFS


def _bar(fraction: float, style: str, mark: float | None = None) -> Text:
    """A bar ``fraction`` full; ``mark`` (the threshold) shows as "│" while the bar is below it."""
    filled = max(0, min(BAR, round(fraction * BAR)))
    cells = ["█"] * filled + ["·"] * (BAR - filled)
    at = None if mark is None else max(1, min(BAR, round(mark * BAR)))
    if at is not None and at > filled:
        cells[at - 1] = "│"
    return Text("".join(cells[:filled]), style=style) + Text("".join(cells[filled:]), style="dim")


class LiveView:
    """The screen; feed it with :meth:`on_frame` and :meth:`on_result` (any thread).

    Args:
        pipeline: the device pipeline (for its state, wake thresholds and open utterance).
        console: where to draw; None: stdout.
        overflows: a callable giving the input overflows so far (the microphone's count).
    """

    def __init__(self, pipeline, console: Console | None = None, overflows=lambda: 0) -> None:
        self.pipeline = pipeline
        self.console = console or Console()
        self._overflows = overflows
        self._lock = threading.Lock()
        self.level = FLOOR_DBFS
        """Latest frame's level, dBFS."""
        self.peak_scores: dict[str, float] = {}
        self.last: UtteranceResult | None = None
        self._live = Live(self, console=self.console, refresh_per_second=10, transient=True)

    def __enter__(self) -> "LiveView":
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._live.__exit__(*exc)

    def on_frame(self, frame: AudioFrame) -> None:
        level = level_dbfs(frame.samples)
        with self._lock:
            self.level = level
            self.peak_scores = dict(self.pipeline.wake.scores)

    def on_result(self, result: UtteranceResult) -> None:
        with self._lock:
            self.last = result
        # A waterfall line is 46 characters plus its bars: fit the terminal, no wrapping.
        width = max(10, min(40, self.console.width - 47))
        self.console.print(human_text(result, width) + "\n", highlight=False, markup=False)

    def _wake_rows(self, scores: dict[str, float]) -> list[tuple[str, float, float]]:
        """One row per wake model: (model, best score of its classes, that class's threshold).
        The bundled timer model alone has six classes; a bar each would not fit a terminal."""
        rows: dict[str, tuple[float, float]] = {}
        wake = self.pipeline.wake
        for name in wake.model_names:
            model = wake.parents.get(name, name)
            score = scores.get(name, 0.0)
            if model not in rows or score > rows[model][0]:
                rows[model] = (score, wake.threshold(name))
        return [(m, s, t) for m, (s, t) in rows.items()]

    def interim(self) -> str:
        """The tier's interim transcript of the open utterance ("" when none)."""
        utt = getattr(self.pipeline, "open_utterance", None)
        stream = getattr(utt, "stream", None)
        return getattr(stream, "interim", "") or ""

    def __rich__(self) -> Panel:
        with self._lock:
            level, scores, last = self.level, self.peak_scores, self.last
        state = self.pipeline.state
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", width=16)
        grid.add_column()
        meter = _bar((level - FLOOR_DBFS) / -FLOOR_DBFS, "green" if level < -6 else "red")
        grid.add_row("input", meter + Text(f" {level:5.1f} dBFS   overflows {self._overflows()}"))
        for model, score, threshold in self._wake_rows(scores):
            row = _bar(score, "bold magenta" if score >= threshold else "magenta", mark=threshold)
            grid.add_row(f"  {model}"[:16], row + Text(f" {score:4.2f} / {threshold:.2f}"))
        grid.add_row("state", Text(state.upper(), style=STATE_STYLE.get(state, "")))
        interim = self.interim() if state in ("listening", "thinking") else ""
        if interim:
            grid.add_row("hearing", Text(interim + " …", style="italic"))
        if last is not None:
            grid.add_row("heard", Text(last.transcript or "(nothing)"))
            grid.add_row("route", Text(last.route, style="bold"))
            intent = "none" if last.intent is None else (
                f"{last.intent.name}({', '.join(f'{k}={v}' for k, v in last.intent.slots.items())}) "
                f"{last.intent.confidence:.2f}")
            grid.add_row("intent", Text(intent))
            grid.add_row("reply", Text(last.reply, style="cyan"))
            latency = last.latency_ms.get("speech_end_to_reply")
            if latency is not None:
                grid.add_row("latency", Text(f"speech end -> reply {latency:.0f} ms"))
        parts = [grid]
        # The waterfall fits a tall terminal; on a short one it is in the scroll-back copy only.
        if last is not None and last.spans and self.console.height >= grid.row_count + len(last.spans) + 4:
            width = max(10, min(30, self.console.width - 51))
            parts.append(Text("\n".join(waterfall(last.spans, width=width)), style="dim"))
        return Panel(Group(*parts), title="Proxima", subtitle="Ctrl-C quits", border_style=STATE_STYLE.get(state, ""))
