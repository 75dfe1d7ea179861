"""Local skills: what the device does itself for an understood command.

The device owns the home's state (its own copy, ``common.home``; simulated)
and the timers: it carries out every home intent (``common.actions``), the
timers, the time and stop, with no network. Side effects are keyed by
utterance id, so an utterance acted on twice (for example by the device and
again after a retry) changes the world once.

A timer that runs out calls ``LocalSkills.on_ring(message)`` on a timer
thread: by default the message is printed on stderr; the pipeline may set
its own to speak it (``device/timers.py``).
"""

from __future__ import annotations

import copy
import sys
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from device.timers import Timer, Timers, say, seconds_of
from common.actions import HOME_INTENTS, act
from common.home import Home, default_home
from common.nlu import Intent

TIMER_INTENTS = ("HassStartTimer", "HassCancelTimer", "HassPauseTimer", "HassUnpauseTimer",
                 "HassIncreaseTimer", "HassDecreaseTimer", "HassTimerStatus")


def print_ring(message: str) -> None:
    """The default for a timer that runs out: one line on stderr."""
    print(f"proxima: timer: {message}", file=sys.stderr, flush=True)


class LocalSkills:
    """The home, timers, the time, and stop/cancel.

    Args:
        time_zone: IANA zone for the time; the machine's when empty.
        home: the home acted on; this process's home (``common.home.default_home``) when None.
    """

    HANDLED = tuple(sorted(HOME_INTENTS)) + TIMER_INTENTS + ("HassGetTime", "HassStop")

    def __init__(self, time_zone: str = "", home: Home | None = None) -> None:
        self.time_zone = time_zone
        self.home = home if home is not None else default_home()
        self.on_ring = print_ring
        """Called with the message when a timer runs out (on a timer thread)."""
        self.timers = Timers(on_ring=lambda timer, message: self.on_ring(message))
        self._done: dict[str, str] = {}

    def handle(self, intent: Intent, utterance_id: str) -> str:
        """Act on ``intent`` once per utterance id; returns the reply text.

        Raises:
            ValueError: an intent this device has no skill for.
        """
        if utterance_id in self._done:
            return self._done[utterance_id]
        reply = self._act(intent)
        self._done[utterance_id] = reply
        return reply

    def preview(self, intent: Intent) -> str | None:
        """The reply ``intent`` would get now, without acting (on a copy of the home),
        so it can be synthesized while the user's pause runs; None for what cannot be
        foreseen without acting (timers, stop) or was already answered.

        Raises:
            ValueError: as :meth:`handle`.
        """
        if intent.name in HOME_INTENTS:
            return act(copy.deepcopy(self.home), intent)  # a small home: well under a millisecond
        if intent.name == "HassGetTime":
            return self._act(intent)
        return None

    def _act(self, intent: Intent) -> str:
        if intent.name in HOME_INTENTS:
            return act(self.home, intent)
        if intent.name in TIMER_INTENTS:
            return self._timer(intent.name, intent.slots)
        if intent.name == "HassGetTime":
            try:
                now = datetime.now(ZoneInfo(self.time_zone)) if self.time_zone else datetime.now().astimezone()
            except (ZoneInfoNotFoundError, ValueError):
                now = datetime.now().astimezone()
            return f"It's {now:%H:%M}."
        if intent.name == "HassStop":
            return self._stop()
        raise ValueError(f"no local skill for intent {intent.name}")

    def _stop(self) -> str:
        """Stop ringing and cancel every timer."""
        rang = self.timers.silence()
        stopped = len(self.timers)
        for t in list(self.timers.timers):
            self.timers.cancel(t)
        said = (["stopped the alarm"] if rang else []) + (
            [f"cancelled {stopped} timer{'s' if stopped != 1 else ''}"] if stopped else [])
        return f"Okay, {' and '.join(said)}." if said else "Okay."

    def _timer(self, name: str, slots: dict) -> str:
        if name == "HassStartTimer":
            return self._start(slots)
        if not self.timers.timers:
            return "No timers are running."
        found = self.timers.select(slots)
        if not found:
            return "There's no timer like that."
        if name == "HassTimerStatus":
            return " ".join(_status(t) for t in found)
        if len(found) > 1:  # a wrong timer is worse than a question
            return f"You have {len(found)} timers: {_names(found)}. Which one?"
        t = found[0]
        if name == "HassCancelTimer":
            self.timers.cancel(t)
            return f"Cancelled {t.words()}."
        if name == "HassPauseTimer":
            if t.paused:
                return f"{_cap(t.words())} is already paused."
            self.timers.pause(t)
            return f"Paused {t.words()}, with {say(t.left())} left."
        if name == "HassUnpauseTimer":
            if not t.paused:
                return f"{_cap(t.words())} is already running."
            self.timers.resume(t)
            return f"Resumed {t.words()}: {say(t.left())} left."
        delta = seconds_of(slots) * (1 if name == "HassIncreaseTimer" else -1)
        if not delta:
            return "By how much? Say, for example, add five minutes to the timer."
        self.timers.change(t, delta)
        return f"{'Added' if delta > 0 else 'Took'} {say(abs(delta))} {'to' if delta > 0 else 'off'} {t.words()}: " \
               f"{say(t.left())} left."

    def _start(self, slots: dict) -> str:
        if slots.get("conversation_command"):
            return "I can't run a command later yet, so I didn't set a timer."
        seconds = seconds_of(slots)
        if seconds <= 0:
            return "How long should the timer run? Say, for example, set a timer for five minutes."
        timer = self.timers.start(seconds, slots.get("name", ""), slots.get("area", ""))
        return f"{_cap(timer.name + ' timer') if timer.name else 'Timer'} set for {say(seconds)}."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _names(timers: list[Timer]) -> str:
    names = [t.words() for t in timers]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _status(t: Timer) -> str:
    return f"{_cap(t.words())} has {say(t.left())} left{' and is paused' if t.paused else ''}."
