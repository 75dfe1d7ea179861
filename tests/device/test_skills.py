"""Local skills act once per utterance and reply in words that fit the command."""

from __future__ import annotations

from device.skills import LocalSkills
from proxima.nlu import COMMANDS, Intent, IntentParser

PARSER = IntentParser([COMMANDS])


def test_each_command_gets_a_fitting_reply():
    skills = LocalSkills()
    cases = {
        "turn on the kitchen light": "Turned on the kitchen light.",
        "turn off the ceiling fan": "Turned off the ceiling fan.",
        "turn on the lights": "Turned on the lights.",
        "set a timer for five minutes": "Timer set for 5 minutes.",
        "set a timer for 1 second": "Timer set for 1 second.",
    }
    for i, (text, reply) in enumerate(cases.items()):
        assert skills.handle(PARSER.parse(text), f"u{i}") == reply
    assert skills.lights == {"kitchen": True, "ceiling fan": False, "all": True}
    assert len(skills.timers) == 2


def test_a_side_effect_happens_once_per_utterance():
    skills = LocalSkills()
    timer = Intent("HassStartTimer", {"minutes": "3"})
    assert skills.handle(timer, "same") == skills.handle(timer, "same")
    assert len(skills.timers) == 1
    assert skills.handle(Intent("HassStop"), "stop-1") == "Okay, cancelled 1 timer."
