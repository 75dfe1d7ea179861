"""The order of tiers for one utterance: failover, retries and hedges.

One thread per utterance runs :class:`Failover` over the tiers of
``Uplink.order()``. The newest stream is the *head*; when it fails the next
tier starts (a load-balanced target first gets another try on another
replica). When the head stalls or is late (``device.hedge``) the next tier
starts too, but the head keeps running: the first final wins and every other
stream is cancelled. Each stream's fixed result deadline stays the backstop.
A head that is late, or fails once the audio has ended, after its provisional
result for the last pause came is answered by that result instead when it may
stand for the final (``Attempt.standing_answer``): no next tier is needed.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import grpc

from device.attempt import Attempt, NotConnected

if TYPE_CHECKING:
    from device.uplink import UplinkStream

FAILOVER_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,        # down, refused, or still warming up
    grpc.StatusCode.DEADLINE_EXCEEDED,  # too slow
    grpc.StatusCode.RESOURCE_EXHAUSTED, # full
})
"""Statuses after which the next tier gets the utterance."""

SAME_TARGET_RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
"""Failures of one replica after which a load-balanced target is tried again
(its channel picks another live replica) before the next tier."""

TICK_S = 0.05
"""How often deadlines and stalls are checked, s (a stream's end wakes the loop at once)."""


class Failover:
    """Runs one utterance's streams until a final result, a cancel, or no tier left."""

    def __init__(self, stream: "UplinkStream") -> None:
        self.s = stream
        self.up = stream._up
        self.queue = deque(self.up.order())
        self.head: Attempt | None = None
        self.tries: dict[str, int] = {}
        self.give_up = False
        """A tier answered with a status that no other tier would fix (e.g. INVALID_ARGUMENT)."""

    def run(self) -> None:
        """Start the first tier and referee until the utterance is settled; sets ``result_value``."""
        s = self.s
        if self._start_next(hedge=False) is None:
            return
        while True:
            with s._cond:
                if not s._ended_attempts and not s._cancelled:
                    s._cond.wait(TICK_S)
                ended, s._ended_attempts = s._ended_attempts, []
                cancelled = s._cancelled
            if cancelled:
                self._stop_all()
                return
            for a in ended:
                s._live.remove(a)
                if a.result is not None:
                    self._win(a)
                    return
                if self._failed(a):
                    return
            if not s._live or self._watch():
                return

    def _start(self, tier: str, address: str, hedge: bool) -> Attempt:
        a = Attempt(self.s, tier, address, self.up.times[address], hedge)
        self.tries[address] = self.tries.get(address, 0) + 1
        self.s._live.append(a)
        self.head = a
        return a.start()

    def _start_next(self, hedge: bool) -> Attempt | None:
        """The next tier whose breaker is closed, started; None when none is left (or a status said stop)."""
        while self.queue and not self.give_up:
            tier, address = self.queue.popleft()
            if not self.up.health[address].available:
                self.s.errors.append(f"{tier} at {address}: skipped (circuit breaker open)")
                continue
            return self._start(tier, address, hedge)
        return None

    def _failed(self, a: Attempt) -> bool:
        """Fail over from ``a``; True when its standing provisional result settled the
        utterance instead (it failed after end of audio: a missed deadline, a restart)."""
        err = a.error
        code = err.code()
        if code == grpc.StatusCode.CANCELLED and a.timed_out:
            code = grpc.StatusCode.DEADLINE_EXCEEDED
        if code == grpc.StatusCode.CANCELLED and a.abandoned and not a.timed_out:
            return False  # we stopped it ourselves
        if a is self.head and code in FAILOVER_CODES and (answer := a.standing_answer()) is not None:
            self._provisional_answer(a, answer, f"{code.name}: {err.details()}")
            return True
        self.s.errors.append(f"{a.tier} at {a.address}: {code.name} ({err.details()})")
        health = self.up.health[a.address]
        if code not in FAILOVER_CODES:
            self.give_up = True  # no other tier would fix it; a stream still running may yet answer
            return False
        if a is not self.head:  # a hedge already runs on the next tier
            health.record_failure()
            return False
        # Only a balanced target tries again (another replica): and only after one
        # replica failed fast. A missed deadline has spent the tier's budget; a
        # channel with no ready replica has none to offer.
        retry = (code in SAME_TARGET_RETRY_CODES and not isinstance(err, NotConnected)
                 and self.tries[a.address] < self.up.attempts(a.address))
        if retry:
            self._start(a.tier, a.address, a.hedge)
            return False
        health.record_failure()  # the target as a whole failed (every replica behind it, when balanced)
        self._start_next(hedge=False)
        return False

    def _watch(self) -> bool:
        """Enforce each stream's fixed deadline; hedge a head that stalled or is late, or
        take a late head's standing provisional result as its answer
        (``Attempt.standing_answer``): True when that settled the utterance."""
        now = time.monotonic()
        for a in list(self.s._live):
            due = a.due()
            if due is not None and now > due and not a.timed_out:
                a.stop(timed_out=True)
        for a in self.s._live:
            # A hedged tier whose provisional result came after the hedge started: it
            # stands for that tier's final, and beats the next tier's decode from scratch.
            if a.hedged and (answer := a.standing_answer()) is not None:
                self._provisional_answer(a, answer, "late: a standing provisional result after the hedge")
                return True
        head = self.head
        if not self.up.cfg.hedge or head is None or head.hedged or head.done or head.timed_out:
            return False
        cause = head.hedge_cause()
        if cause is None:
            return False
        if cause.startswith("late") and (answer := head.standing_answer()) is not None:
            self._provisional_answer(head, answer, cause)
            return True
        nxt = self._start_next(hedge=True) if self.queue else None
        if nxt is None:
            return False
        head.hedged = True
        self.s.hedges += 1
        with self.up._sent_lock:
            self.up.hedges += 1
        self.s.errors.append(f"{head.tier} at {head.address}: hedged to {nxt.tier} ({cause})")
        span = self.s._span
        span.set_attribute("proxima.hedged", True)
        span.set_attribute("proxima.hedge_cause", cause.split(":", 1)[0])
        span.set_attribute("proxima.hedge_from", head.tier)
        span.set_attribute("proxima.hedge_to", nxt.tier)
        span.set_attribute("proxima.hedge_detail", cause)
        return False

    def _provisional_answer(self, a: Attempt, answer, cause: str) -> None:
        """``a`` is late or failed after end of audio, and its standing provisional result
        is the answer its final would give: the user gets it now rather than after the
        next tier's decode from scratch."""
        self.s.result_value = answer
        self.s.errors.append(f"{a.tier} at {a.address}: provisional answer ({cause})")
        self.up.health[a.address].record_failure()  # late: later utterances skip it until a probe finds it serving
        span = self.s._span
        span.set_attribute("proxima.tier", a.tier)
        span.set_attribute("proxima.provisional_answer", True)
        span.set_attribute("proxima.hedge_detail", cause)
        self._stop_all()

    def _win(self, a: Attempt) -> None:
        self.s.result_value = a.result
        self.up.health[a.address].record_success()
        self.s._span.set_attribute("proxima.tier", a.tier)
        self.s._span.set_attribute("proxima.latency_first", a.config().latency_first)
        if a.hedge:
            self.s._span.set_attribute("proxima.hedge_won", True)
        for other in list(self.s._live):
            if other.hedged:  # stalled or late: later utterances skip it until a probe finds it serving
                self.up.health[other.address].record_failure()
            other.stop()

    def _stop_all(self) -> None:
        for a in list(self.s._live):
            a.stop()
