"""When to hedge a tier: stall detection during the stream, an adaptive
deadline after end of audio.

A tier that asked for nothing special still answers (the result deadlines of
``device.uplink`` stay the backstop); a tier that sends Progress
(``StreamConfig.progress_interval_ms``) is watched much more closely:

- **Stalled**: audio handed to the tier this long ago is still not
  acknowledged: ``max(stall_floor_s, progress interval + stall_rtts x RTT)``,
  RTT smoothed over the first acknowledgement of each stream (the tier answers
  the config at once). A frozen tier, or one that stopped reading, is found in
  well under a second, whatever the result deadline.
- **Late**: no final result ``hedge_after_s`` after end of audio: the tier's
  recent p95 of that wait plus a margin, never under a floor, plus what its
  decode should still take (``UplinkStream.decode_left_s``: the early decode
  of a SPEECH_END hint, or a decode of everything, at ``hedge_rtf``). Before
  ``HISTORY_MIN`` finals a longer floor (``hedge_prior_s``) and that term count.
  A tier that says when its final is due (``Progress.final_due_ms``, on its
  acknowledgement of the end of audio, from its own state and measured decode
  speed) replaces that guess, from the first utterance on: its word (times
  ``hedge_due_factor``) plus ``hedge_due_slack_s``, or once learned its p95 over
  its word plus the margin (never under that slack).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from device.config import UplinkConfig
from common.audio import SAMPLE_RATE

HISTORY = 64
"""Finals remembered per tier endpoint for the adaptive deadline."""
HISTORY_MIN = 5
"""Finals a tier needs before its own p95 counts."""
ACK_SLACK_MS = 100.0
"""Audio a tier may hold back from its acknowledgement without being behind, ms:
an Opus decoder keeps its lookahead and a partial frame until the end."""


def decode_left_s(rtf: float, samples: int, hint_samples: int | None, hint_at: float | None, end_at: float) -> float:
    """How long a tier's decode should still take at end of audio (``end_at``,
    ``time.monotonic()``), s: the early decode a standing SPEECH_END hint started
    (at ``hint_at`` over ``hint_samples``; the device's VAD heard only silence
    after it), less the time since; with no hint, a decode of all ``samples``.
    ``rtf``: decode time per second of audio."""
    if hint_samples is None or hint_at is None:
        return rtf * samples / SAMPLE_RATE
    return max(0.0, hint_at + rtf * hint_samples / SAMPLE_RATE - end_at)


class TierTimes:
    """What the device has learned of one tier endpoint's timing. Thread-safe.

    Args:
        cfg: the hedging settings (``UplinkConfig``).
    """

    def __init__(self, cfg: UplinkConfig) -> None:
        self._cfg = cfg
        self._lock = threading.Lock()
        self._srtt_s: float | None = None
        self._excess_s: deque[float] = deque(maxlen=HISTORY)
        self.sends_progress = False
        """The endpoint has sent Progress: a stream of it that sends none is stalled too."""

    def observe_rtt(self, sample_s: float) -> None:
        """One round trip, s (stream open -> first acknowledgement); smoothed as TCP's SRTT (1/8)."""
        with self._lock:
            self.sends_progress = True
            self._srtt_s = sample_s if self._srtt_s is None else 0.875 * self._srtt_s + 0.125 * sample_s

    def observe_final(self, after_end_s: float, decode_left_s: float) -> None:
        """A final result ``after_end_s`` after end of audio, s, when its decode was
        expected to take ``decode_left_s`` more (s): remembered net of that."""
        with self._lock:
            self._excess_s.append(after_end_s - decode_left_s)

    def stall_bound_s(self) -> float:
        """How long audio may go unacknowledged before the tier counts as stalled, s."""
        cfg = self._cfg
        with self._lock:
            rtt = self._srtt_s or 0.0
        return max(cfg.stall_floor_s, cfg.progress_interval_ms / 1000.0 + cfg.stall_rtts * rtt)

    def hedge_after_s(self, decode_left_s: float, told: bool = False) -> float:
        """How long after end of audio a final may take before the next tier is
        started, s, when its decode was expected to take ``decode_left_s`` more (s);
        ``told``: the tier said so itself (``Progress.final_due_ms``), so the device
        need not guess its speed: ``hedge_due_slack_s`` stands for the prior and the floor."""
        cfg = self._cfg
        with self._lock:
            history = list(self._excess_s)
        if told:  # a decode still to run may take longer than the tier thought (a load spike)
            decode_left_s *= cfg.hedge_due_factor
        floor = cfg.hedge_due_slack_s if told else cfg.hedge_floor_s
        base = cfg.hedge_due_slack_s if told else cfg.hedge_prior_s
        if len(history) >= HISTORY_MIN:
            base = max(floor, float(np.percentile(history, 95)) + cfg.hedge_margin_s)
        return base + decode_left_s


class AckTracker:
    """Audio handed to one tier and not yet acknowledged. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[tuple[float, float]] = deque()
        self.acked_ms = 0.0
        """The tier's latest ``Progress.received_ms``, ms."""

    def sent(self, offset_ms: float) -> None:
        """Audio up to ``offset_ms`` (ms from the stream's start) was just handed to gRPC."""
        with self._lock:
            # The tier may acknowledge before this thread records the send (the end of
            # audio above all, after which no acknowledgement follows): then nothing waits.
            if offset_ms > self.acked_ms + ACK_SLACK_MS:
                self._pending.append((offset_ms, time.monotonic()))

    def ack(self, received_ms: float) -> None:
        """The tier reported having taken in ``received_ms`` of audio, ms."""
        with self._lock:
            self.acked_ms = max(self.acked_ms, received_ms)
            while self._pending and self._pending[0][0] <= self.acked_ms + ACK_SLACK_MS:
                self._pending.popleft()

    def unacked_for_s(self) -> float:
        """How long the oldest unacknowledged audio has waited, s; 0 when none waits."""
        with self._lock:
            return time.monotonic() - self._pending[0][1] if self._pending else 0.0
