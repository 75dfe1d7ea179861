"""Local skills act once per utterance, on the home, and reply with what really happened."""

from __future__ import annotations

import threading

from device.skills import LocalSkills
from common.home import default_home
from common.nlu import COMMANDS, Intent, IntentParser

PARSER = IntentParser([COMMANDS])


def say(skills: LocalSkills, text: str, uid: list[int] = [0]) -> str:
    uid[0] += 1
    intent = PARSER.parse(text)
    assert intent is not None and intent.name in LocalSkills.HANDLED, text
    return skills.handle(intent, f"u{uid[0]}")


def test_each_command_gets_a_fitting_reply():
    skills = LocalSkills()
    cases = {
        "turn off the kitchen light": "Turned off the kitchen light.",
        "turn off the ceiling fan": "Turned off the ceiling fan.",
        # "the lights" are where the device stands: the demo home's living room, which has one.
        "turn on the lights": "Turned on the living room light.",
        "set a timer for five minutes": "Timer set for 5 minutes.",
        "set a timer for 1 second": "Timer set for 1 second.",
    }
    for text, reply in cases.items():
        assert say(skills, text) == reply
    states = {e.name: e.state for e in skills.home.entities if e.domain in ("light", "fan") and e.state == "on"}
    assert states == {"Living Room Ceiling": "on"}, "the kitchen light and the ceiling fan went off"
    assert len(skills.timers) == 2


def test_a_side_effect_happens_once_per_utterance():
    skills = LocalSkills()
    timer = Intent("HassStartTimer", {"minutes": "3"})
    assert skills.handle(timer, "same") == skills.handle(timer, "same")
    assert len(skills.timers) == 1
    assert skills.handle(Intent("HassStop"), "stop-1") == "Okay, cancelled 1 timer."


def test_replies_say_what_the_home_did_and_nothing_more():
    skills = LocalSkills()
    assert say(skills, "turn off the kitchen sink") == "The kitchen sink is already off."
    assert say(skills, "set the bedroom lamp to fifty percent") == "Set the bedroom lamp to 50% brightness."
    lamp = skills.home.find(name="bedroom lamp")[0]
    assert lamp.state == "on" and lamp.number("brightness") == 50
    assert say(skills, "turn the bedroom lamp blue") == "Set the bedroom lamp to blue."
    assert say(skills, "is the bedroom lamp on") == "Yes, the bedroom lamp is on."
    assert say(skills, "unlock the front door") == "Unlocked the front door."
    assert say(skills, "is the front door locked") == "No, the front door is unlocked."
    assert say(skills, "pause") == "Nothing is playing on the living room media player."
    assert say(skills, "unpause the tv") == "Resumed the TV."
    assert say(skills, "next track") == "Skipped to the next track on the TV."
    assert say(skills, "set the volume to 25%") == "Set the volume of the living room media player to 25%."
    assert skills.home.find(name="tv")[0].number("volume_level") == 25
    assert say(skills, "set the temperature to 22 degrees") == "Set the living room thermostat to 22 °C."
    assert say(skills, "add eggs to my shopping list") == "Added eggs to your shopping list."
    assert skills.home.shopping_list == ["milk", "eggs"]


def test_several_named_timers_pause_change_and_cancel():
    skills = LocalSkills()
    assert say(skills, "set a pasta timer for 10 minutes") == "Pasta timer set for 10 minutes."
    assert say(skills, "set a timer for 1 hour and 15 minutes") == "Timer set for 1 hour and 15 minutes."
    assert say(skills, "cancel the timer").startswith("You have 2 timers: the pasta timer and the 1 hour and 15 minute")
    assert len(skills.timers) == 2, "an unclear cancel cancels nothing"
    assert say(skills, "pause the pasta timer").startswith("Paused the pasta timer, with ")
    assert say(skills, "add 5 minutes to the pasta timer").startswith("Added 5 minutes to the pasta timer: 15 minutes")
    assert "and is paused" in say(skills, "how much time is left on the pasta timer")
    assert say(skills, "cancel the pasta timer") == "Cancelled the pasta timer."
    assert [t.seconds for t in skills.timers.timers] == [4500]


def test_a_timer_that_runs_out_rings_and_stop_silences_it():
    skills = LocalSkills(home=default_home())
    rang = threading.Event()
    heard: list[str] = []
    skills.on_ring = lambda message: (heard.append(message), rang.set())
    say(skills, "set an egg timer for 1 second")
    assert rang.wait(3.0), "the timer rang"
    assert heard == ["The egg timer is done."] and len(skills.timers) == 0
    assert say(skills, "stop") == "Okay, stopped the alarm."


def test_a_foreseen_reply_changes_nothing():
    """The reply synthesized during the pause is the one the command then gets; the home is untouched until then."""
    skills = LocalSkills(home=default_home())
    turn_on = Intent("HassTurnOn", {"area": "living room", "domain": "light"})
    before = {e.name: e.state for e in skills.home.entities}
    foreseen = skills.preview(turn_on)
    assert {e.name: e.state for e in skills.home.entities} == before
    assert foreseen == skills.handle(turn_on, "u1")
    assert {e.name: e.state for e in skills.home.entities} != before
    assert skills.preview(Intent("HassStartTimer", {"minutes": "5"})) is None, "a timer cannot be foreseen without starting it"
