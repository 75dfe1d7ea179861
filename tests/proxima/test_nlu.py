"""Device commands match whatever Whisper writes: case, punctuation, digits or words."""

from __future__ import annotations

import pytest

from proxima.nlu import COMMANDS, IntentParser

PARSER = IntentParser([COMMANDS])


@pytest.mark.parametrize("text, name, slots", [
    ("Turn off, kitchen sink.", "HassTurnOff", {"name": "kitchen sink"}),
    ("turn off the kitchen sink", "HassTurnOff", {"name": "kitchen sink"}),
    ("TURN ON THE LIVING ROOM LIGHTS!", "HassTurnOn", {"area": "living room"}),
    ("Turn on the living-room light.", "HassTurnOn", {"area": "living room"}),
    ("Turn the kitchen lights off.", "HassTurnOff", {"area": "kitchen"}),
    ("Set a timer for 10 minutes.", "HassStartTimer", {"minutes": "10"}),
    ("Set a timer for ten minutes", "HassStartTimer", {"minutes": "10"}),
    ("set a 5 minute timer", "HassStartTimer", {"minutes": "5"}),
    ("Stop.", "HassStop", {}),
    ("What's the time?", "HassGetTime", {}),
])
def test_command_variants_match(text, name, slots):
    intent = PARSER.parse(text)
    assert intent is not None and intent.name == name and intent.slots == slots


@pytest.mark.parametrize("text", ["he was not an ill disposed young man", "", "   ", "turn"])
def test_non_commands_do_not_match(text):
    assert PARSER.parse(text) is None
