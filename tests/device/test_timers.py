"""Timers keep time through pauses and changes, and say their lengths in words."""

from __future__ import annotations

import time

from device.timers import Timers, say, seconds_of


def test_durations_add_up_from_any_units_and_are_said_in_words():
    assert seconds_of({"hours": "1", "minutes": "15"}) == 4500
    assert seconds_of({"minutes": "1.5"}) == 90
    assert seconds_of({"minutes": "5", "seconds": "30"}) == 330
    assert say(4500) == "1 hour and 15 minutes" and say(3661) == "1 hour, 1 minute and 1 second"
    assert say(0) == "0 seconds"


def test_a_paused_timer_keeps_its_time_left_and_changes_apply():
    timers = Timers()
    t = timers.start(60, name="tea")
    timers.pause(t)
    left = t.left()
    time.sleep(0.05)
    assert t.left() == left and 59 < left <= 60
    timers.change(t, -30)
    assert 29 < t.left() <= 30 and t.seconds == 30
    timers.resume(t)
    assert not t.paused and 29 < t.left() <= 30
    assert timers.select({"name": "Tea"}) == [t] and timers.select({"start_seconds": "30"}) == [t]
    timers.cancel(t)
    assert len(timers) == 0
