"""Presenting each utterance's result: one JSON line, or a human summary
with a compact waterfall of its spans."""

from __future__ import annotations

import json
from typing import IO

from device.events import UtteranceResult
from common.tracing import waterfall


def json_line(result: UtteranceResult) -> str:
    """The docs/architecture.md JSON object on one line."""
    return json.dumps(result.to_json(), ensure_ascii=False)


def human_text(result: UtteranceResult, width: int = 40) -> str:
    """Wake word, route, transcript, intent, reply, latency and waterfall (bars ``width`` characters)."""
    wake = f"{result.wake_word} ({result.wake_score:.2f})" if result.wake_word else "-"
    lines = [f"utterance {result.utterance_id}  wake word {wake}  route {result.route}"]
    lines.append(f"  heard:  {result.transcript or '(nothing)'}")
    if result.intent is not None:
        slots = ", ".join(f"{k}={v}" for k, v in result.intent.slots.items())
        lines.append(f"  intent: {result.intent.name}({slots})  confidence {result.intent.confidence:.2f}")
    else:
        lines.append("  intent: none")
    lines.append(f"  reply:  {result.reply}")
    if result.error:
        lines.append(f"  error:  {result.error}")
    for failed in result.failovers:
        lines.append(f"  failover: {failed}")
    lat = result.latency_ms
    if lat.get("speech_end_to_reply") is not None:
        sound = lat.get("speech_end_to_first_audio")
        sound = f", speech end -> first audio {sound:.0f} ms" if sound is not None else ""
        lines.append(f"  latency: speech end -> reply {lat['speech_end_to_reply']:.0f} ms, "
                     f"endpoint -> reply {lat['endpoint_to_reply']:.0f} ms{sound}")
    lines.append(f"  trace {result.trace_id}")
    sound = lat.get("speech_end_to_first_audio")
    if sound is not None and result.endpoint is not None and result.endpoint.speech_end_ms is not None:
        sound += result.endpoint.speech_end_ms - result.wake_end_ms  # on the trace's timeline
    lines += waterfall(result.spans, width=width, first_audio_ms=sound)
    return "\n".join(lines)


def emit(result: UtteranceResult, out: IO[str], as_json: bool) -> None:
    out.write((json_line(result) if as_json else human_text(result) + "\n") + "\n")
    out.flush()
