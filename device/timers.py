"""The device's timers: several at once, named or not, paused and resumed,
lengthened and shortened; a timer that runs out rings.

Ringing is a callback (``Timers.on_ring``) run on a timer thread with the
message to say; the device pipeline is expected to print and speak it (see
``device/skills.py``). Times are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

UNITS = (("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0))


def seconds_of(slots: dict) -> float:
    """A duration from ``hours``, ``minutes`` and ``seconds`` slots (any may be fractional), s."""
    return sum(float(slots.get(unit, 0) or 0) * s for unit, s in UNITS)


def say(seconds: float) -> str:
    """ "1 hour and 30 minutes", "5 minutes", "45 seconds" (rounded to the second)."""
    total = int(round(seconds))
    parts = [(total // 3600, "hour"), (total % 3600 // 60, "minute"), (total % 60, "second")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " and ".join([", ".join(said[:-1]), said[-1]] if len(said) > 1 else said) or "0 seconds"


@dataclass
class Timer:
    """One timer; ``left`` is its time left when paused, else computed from ``due``."""

    id: int
    seconds: float
    """Length as set (s), plus any increases."""
    due: float
    """``time.monotonic()`` when it rings (meaningless while paused)."""
    name: str = ""
    area: str = ""
    paused_left: float | None = None
    """Seconds left, while paused; None while running."""
    _thread: threading.Timer | None = field(default=None, repr=False, compare=False)

    @property
    def paused(self) -> bool:
        return self.paused_left is not None

    def left(self, now: float | None = None) -> float:
        """Seconds until it rings."""
        if self.paused_left is not None:
            return self.paused_left
        return max(0.0, self.due - (time.monotonic() if now is None else now))

    def words(self) -> str:
        """How a reply names it: "the pasta timer", "the 5 minute timer"."""
        if self.name:
            return f"the {self.name} timer"
        return f"the {_length(self.seconds)} timer"


def _length(seconds: float) -> str:
    """ "5 minute", "1 hour and 30 minute" (as in "a 5 minute timer")."""
    return " and ".join(p[:-1] if p.endswith("s") else p for p in say(seconds).split(" and "))


class Timers:
    """The running timers.

    Args:
        on_ring: called with a timer and the message to say when it runs out
            (on a timer thread); None: the message is only kept in ``rung``.
    """

    def __init__(self, on_ring: Callable[[Timer, str], None] | None = None) -> None:
        self.on_ring = on_ring
        self.timers: list[Timer] = []
        self.rung: list[str] = []
        """Messages of timers that ran out, oldest first, until stopped (``silence``)."""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.timers)

    def start(self, seconds: float, name: str = "", area: str = "") -> Timer:
        """Start a timer of ``seconds`` (> 0)."""
        timer = Timer(next(self._ids), seconds, time.monotonic() + seconds, name.strip(), area)
        with self._lock:
            self.timers.append(timer)
        self._arm(timer)
        return timer

    def _arm(self, timer: Timer) -> None:
        if timer._thread is not None:
            timer._thread.cancel()
        timer._thread = threading.Timer(timer.left(), self._ring, args=(timer,))
        timer._thread.daemon = True
        timer._thread.start()

    def _ring(self, timer: Timer) -> None:
        with self._lock:
            if timer not in self.timers or timer.paused:
                return
            self.timers.remove(timer)
        message = f"{timer.words()[0].upper()}{timer.words()[1:]} is done."
        self.rung.append(message)
        if self.on_ring is not None:
            self.on_ring(timer, message)

    def cancel(self, timer: Timer) -> None:
        with self._lock:
            if timer in self.timers:
                self.timers.remove(timer)
        if timer._thread is not None:
            timer._thread.cancel()

    def pause(self, timer: Timer) -> None:
        if not timer.paused:
            timer.paused_left = timer.left()
            if timer._thread is not None:
                timer._thread.cancel()

    def resume(self, timer: Timer) -> None:
        if timer.paused:
            timer.due = time.monotonic() + (timer.paused_left or 0.0)
            timer.paused_left = None
            self._arm(timer)

    def change(self, timer: Timer, delta: float) -> None:
        """Add ``delta`` seconds (negative: take away; never below zero left)."""
        left = max(0.0, timer.left() + delta)
        timer.seconds = max(0.0, timer.seconds + delta)
        if timer.paused:
            timer.paused_left = left
        else:
            timer.due = time.monotonic() + left
            self._arm(timer)

    def select(self, slots: dict) -> list[Timer]:
        """The timers the slots name: ``name``, ``area``, or their length as set
        (``start_hours``/``start_minutes``/``start_seconds``); all of them when none is said."""
        found = list(self.timers)
        if slots.get("name"):
            found = [t for t in found if t.name.casefold() == str(slots["name"]).strip().casefold()]
        if slots.get("area"):
            found = [t for t in found if t.area.casefold() == str(slots["area"]).casefold()]
        start = {u[len("start_"):]: v for u, v in slots.items() if u.startswith("start_")}
        if start:
            found = [t for t in found if abs(t.seconds - seconds_of(start)) < 1.0]
        return found

    def silence(self) -> int:
        """Stop ringing; how many timers were ringing."""
        n, self.rung = len(self.rung), []
        return n
