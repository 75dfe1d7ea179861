"""Regional and cloud skills on Whisper-style text, through the tiers' parser and reply_for."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.nlu import COMMANDS, Intent, IntentParser
from regional.service import TEMPLATES
from regional.skills import answer, reply_for, skills_for, weather
from regional.skills.numbers import number, say

PARSER = IntentParser([COMMANDS, TEMPLATES])


def ask(text: str, tier: str = "regional", time_zone: str = "Europe/London") -> tuple[Intent | None, str]:
    intent = PARSER.parse(text)
    return intent, reply_for(intent, text, time_zone, tier=tier)


def around_now(zone: str, fmt: str) -> set[str]:
    """``fmt`` of the time in ``zone`` now and a minute either side (the test may cross a minute)."""
    now = datetime.now(ZoneInfo(zone))
    return {(now + timedelta(minutes=d)).strftime(fmt) for d in (-1, 0, 1)}


# -- time and date in a named city ----------------------------------------------------------


@pytest.mark.parametrize("text, zone, city", [
    ("What time is it in Tokyo?", "Asia/Tokyo", "Tokyo"),
    ("What's the time in New York right now?", "America/New_York", "New York"),
    ("what time is it in los angeles", "America/Los_Angeles", "Los Angeles"),
    ("What time is it in Mumbai?", "Asia/Kolkata", "Mumbai"),
    ("What time is it in São Paulo?", "America/Sao_Paulo", "São Paulo"),
    ("What time is it in Paris, France?", "Europe/Paris", "Paris"),
    ("Tell me the time in Sydney.", "Australia/Sydney", "Sydney"),
])
def test_time_in_a_city(text, zone, city):
    intent, reply = ask(text)
    assert intent.name == "GetCityTime"
    assert city in reply
    assert any(f"It's {t} " in reply for t in around_now(zone, "%H:%M")), reply


@pytest.mark.parametrize("text, zone", [
    ("What's the date in New York?", "America/New_York"),
    ("What day is it in Auckland?", "Pacific/Auckland"),
    ("what is the date in beijing", "Asia/Shanghai"),
])
def test_date_in_a_city(text, zone):
    intent, reply = ask(text)
    assert intent.name == "GetCityDate"
    now = datetime.now(ZoneInfo(zone))
    assert f"{now:%B} {now.day}, {now.year}" in reply or (now.hour == 0 and now.minute < 2), reply


def test_unknown_city_and_a_country_of_several_zones_are_answered_honestly():
    intent, reply = ask("What time is it in Gotham?")
    assert intent.name == "GetCityTime"
    assert reply == "I don't know the time zone of Gotham. Try a larger city nearby, or the country's capital."
    _, reply = ask("What time is it in the United States?")
    assert "several time zones" in reply and "New York" in reply


def test_the_local_time_and_date_still_use_the_device_zone():
    intent, reply = ask("What time is it?", time_zone="Asia/Tokyo")
    assert intent.name == "HassGetTime"
    assert reply in {f"It's {t}." for t in around_now("Asia/Tokyo", "%H:%M")}
    intent, reply = ask("What's the date?", time_zone="Asia/Tokyo")
    assert intent.name == "GetDate" and reply.startswith("Today is ")


# -- unit conversion ------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Convert 5 miles to kilometers.", "5 miles is about 8.05 kilometers."),
    ("convert 5 miles to km", "5 miles is about 8.05 km."),
    ("How many ounces in a pound?", "1 pound is 16 ounces."),
    ("How many ounces are in a pound?", "1 pound is 16 ounces."),
    ("What is 100 Fahrenheit in Celsius?", "100 degrees Fahrenheit is about 37.78 degrees Celsius."),
    ("What is 100°F in Celsius?", "100 degrees Fahrenheit is about 37.78 degrees Celsius."),
    ("Convert 0 degrees Celsius to Fahrenheit.", "0 degrees Celsius is 32 degrees Fahrenheit."),
    ("How many feet are there in a mile?", "1 mile is 5,280 feet."),
    ("How many seconds in a day?", "1 day is 86,400 seconds."),
    ("What's two and a half cups in milliliters?", "2.5 cups is about 591.47 milliliters."),
    ("Convert 60 miles per hour to kilometers per hour.", "60 miles per hour is about 96.56 kilometers per hour."),
    ("How many ounces are in a cup?", "1 cup is 8 fluid ounces."),
    ("What is 2 kilograms in pounds?", "2 kilograms is about 4.41 pounds."),
])
def test_unit_conversion(text, expected):
    intent, reply = ask(text)
    assert intent.name == "ConvertUnit"
    assert reply == expected


@pytest.mark.parametrize("text, expected", [
    ("Convert 5 miles to parsnips.", 'I don\'t know the unit "parsnips", so I can\'t convert that.'),
    ("Convert 5 flurbs to miles.", 'I don\'t know the unit "flurbs", so I can\'t convert that.'),
    ("Convert 5 miles to kilograms.", "I can't convert miles to kilograms: one is a length, the other a mass."),
    ("What's 20 dollars in euros?", "I can't convert currencies: I have no exchange rates."),
    ("What is 30 degrees in Fahrenheit?",
     "Degrees Celsius or Fahrenheit? Say which, like: what is 30 degrees Celsius in Fahrenheit."),
])
def test_unknown_or_mismatched_units_are_answered_honestly(text, expected):
    intent, reply = ask(text)
    assert intent.name == "ConvertUnit"
    assert reply == expected


# -- arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("What is 12 times 7?", "12 times 7 is 84."),
    ("What's 15 plus 27?", "15 plus 27 is 42."),
    ("What is 100 divided by 8?", "100 divided by 8 is 12.5."),
    ("What is twelve times seven?", "12 times 7 is 84."),
    ("What's fifteen plus twenty-seven?", "15 plus 27 is 42."),
    ("What is 15 + 27?", "15 plus 27 is 42."),
    ("What is 12 x 7?", "12 times 7 is 84."),
    ("What is 1,000 divided by 8?", "1,000 divided by 8 is 125."),
    ("What is 2.5 times 4?", "2.5 times 4 is 10."),
    ("What is 2 plus 3 times 4?", "2 plus 3 times 4 is 14."),
    ("What is 15% of 80?", "15 percent of 80 is 12."),
    ("What's 10 minus 13?", "10 minus 13 is minus 3."),
    ("Subtract 3 from 10.", "10 minus 3 is 7."),
    ("Add 5 and 3.", "5 plus 3 is 8."),
    ("What is 10 divided by 3?", "10 divided by 3 is about 3.3333."),
    ("What is one hundred and five times a million?", "105 times 1,000,000 is 105,000,000."),
])
def test_arithmetic(text, expected):
    intent, reply = ask(text)
    assert intent.name == "Arithmetic"
    assert reply == expected


def test_division_by_zero_is_answered_honestly():
    intent, reply = ask("What is 10 divided by 0?")
    assert intent.name == "Arithmetic"
    assert reply == "10 divided by 0 has no answer: you can't divide by zero."


def test_arithmetic_never_evaluates_code():
    intent, reply = ask("What is __import__('os') times 2?")
    assert "I can't look that up" in reply


# -- named timers (the device carries them out) ---------------------------------------------


START, CANCEL = "HassStartTimer", "HassCancelTimer"


@pytest.mark.parametrize("text, name, slots, expected", [
    ("Set a pasta timer for 10 minutes.", START, {"name": "pasta", "minutes": "10"},
     "Setting a pasta timer for 10 minutes."),
    ("set a timer for 10 minutes for the pasta", START, {"name": "pasta", "minutes": "10"},
     "Setting a pasta timer for 10 minutes."),
    ("Start an egg timer for 30 seconds.", START, {"name": "egg", "seconds": "30"}, "Setting an egg timer for 30 seconds."),
    ("Set a timer for 90 minutes.", START, {"minutes": "90"}, "Setting a timer for 1 hour and 30 minutes."),
    # Home Assistant's own intent for cancelling one timer (Proxima's HassStop cancels them all).
    ("Cancel the pasta timer.", CANCEL, {"name": "pasta"}, "Cancelling the pasta timer."),
])
def test_named_timers_are_understood_and_confirmed(text, name, slots, expected):
    intent, reply = ask(text)
    assert intent.name == name and intent.slots == slots
    assert reply == expected


@pytest.mark.parametrize("text, expected", [
    ("Is the front door locked?", "Yes, the front door is locked."),
    ("Which windows are open?", "The bedroom window is open."),
    ("What is the temperature in the living room?", "The thermostat reads 20.5 °C."),
    ("Add bread to my shopping list.", "Added bread to your shopping list."),
    ("Set the bedroom curtains to 40%.", "Set the bedroom curtains to 40% open."),
])
def test_the_tier_answers_about_its_own_copy_of_the_home(text, expected):
    assert ask(text)[1] == expected


# -- weather --------------------------------------------------------------------------------


@pytest.fixture
def no_provider(monkeypatch):
    monkeypatch.delenv(weather.ENV, raising=False)
    monkeypatch.setattr(weather, "_provider", None)
    monkeypatch.setattr(weather, "_loaded_from_env", False)


def test_weather_says_no_provider_is_configured(no_provider):
    intent, reply = ask("What's the weather like tomorrow?")
    assert intent.name == "GetWeather" and intent.slots == {"when": "tomorrow"}
    assert reply.startswith("No weather provider is configured, so I can't tell you the weather tomorrow.")
    assert weather.ENV in reply
    _, reply = ask("Will it rain in London tomorrow?")
    assert "the weather in London tomorrow" in reply


class FakeProvider:
    def __init__(self):
        self.calls = []

    def forecast(self, place, when):
        self.calls.append((place, when))
        return f"Sunny in {place or 'here'} {when or 'now'}."


def test_a_weather_provider_plugs_in_in_code(no_provider):
    provider = FakeProvider()
    weather.set_weather_provider(provider)
    assert ask("What's the weather in Paris tomorrow?")[1] == "Sunny in Paris tomorrow."
    assert ask("How's the weather?")[1] == "Sunny in here now."
    assert provider.calls == [("Paris", "tomorrow"), (None, None)]
    with pytest.raises(TypeError):
        weather.set_weather_provider(object())


def test_a_weather_provider_plugs_in_by_environment(no_provider, monkeypatch, tmp_path):
    (tmp_path / "my_weather.py").write_text(textwrap.dedent("""
        class Provider:
            def forecast(self, place, when):
                return f"Rain in {place}."
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(weather.ENV, "my_weather:Provider")
    assert ask("Is it raining in Oslo?")[1] == "Rain in Oslo."


def test_a_provider_that_fails_is_reported(no_provider):
    class Broken:
        def forecast(self, place, when):
            raise ConnectionError("down")

    weather.set_weather_provider(Broken())
    assert "didn't answer" in ask("What's the weather?")[1]


# -- the general question, and which intent wins ---------------------------------------------


@pytest.mark.parametrize("text, name", [
    ("What time is it in Tokyo?", "GetCityTime"),
    ("What's the date in New York?", "GetCityDate"),
    ("What is 12 times 7?", "Arithmetic"),
    ("How many ounces in a pound?", "ConvertUnit"),
    ("What is 100 Fahrenheit in Celsius?", "ConvertUnit"),
    ("What is 2 to the power of 10?", "PowersAndRoots"),
    ("What is the square root of 144?", "PowersAndRoots"),
    ("What's the weather in Paris?", "GetWeather"),
    ("Who wrote the novel, Pride and Prejudice?", "AskQuestion"),
    ("What is the capital of France?", "AskQuestion"),
])
def test_new_intents_win_over_the_general_question(text, name):
    assert PARSER.parse(text).name == name


def test_the_general_question_says_what_it_cannot_answer():
    intent, reply = ask("Who wrote the novel, Pride and Prejudice?")
    assert intent.name == "AskQuestion"
    assert reply.startswith('I heard the question "Who wrote the novel, Pride and Prejudice?", but I can\'t look')


@pytest.mark.parametrize("text, parsed_as", [
    ("What is the population in China?", "ConvertUnit"),
    ("How many people live in China?", "ConvertUnit"),
    ("What is the difference between a plus and a minus?", "Arithmetic"),
])
def test_a_question_that_only_looks_like_a_sum_or_conversion_is_a_general_question(text, parsed_as):
    intent = PARSER.parse(text)
    assert intent.name == parsed_as
    answered, reply = answer(intent, text)
    assert answered.name == "AskQuestion" and "I can't look that up" in reply


# -- tiers ----------------------------------------------------------------------------------


def test_the_cloud_has_a_skill_the_regional_lacks():
    intents = {tier: set().union(*(s.intents for s in skills_for(tier))) for tier in ("regional", "cloud")}
    assert intents["regional"] < intents["cloud"]
    assert "PowersAndRoots" in intents["cloud"] - intents["regional"]
    with pytest.raises(ValueError, match="unknown tier"):
        skills_for("edge")


@pytest.mark.parametrize("text, cloud_reply", [
    ("What is the square root of 144?", "The square root of 144 is 12."),
    ("What is 2 to the power of 10?", "2 to the power of 10 is 1,024."),
    ("What's 5 squared?", "5 squared is 25."),
    ("What is 2 to the 10th power?", "2 to the power of 10 is 1,024."),
    ("What is the cube root of 27?", "The cube root of 27 is 3."),
    ("What is the square root of 2?", "The square root of 2 is about 1.4142."),
])
def test_powers_and_roots_are_answered_by_the_cloud_only(text, cloud_reply):
    intent, regional = ask(text, tier="regional")
    assert intent.name == "PowersAndRoots"
    assert "worked out by the cloud tier" in regional
    assert ask(text, tier="cloud")[1] == cloud_reply


def test_reply_for_keeps_its_positional_call():
    intent = PARSER.parse("What is 12 times 7?")
    assert reply_for(intent, "What is 12 times 7?", "") == "12 times 7 is 84."
    assert reply_for(None, "") == "Sorry, I didn't catch that."
    assert reply_for(None, "blah blah") == "Sorry, I can't help with that yet."


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("1,000", 1000), ("2.5", 2.5), ("-3", -3), ("twenty-five", 25), ("one hundred and five", 105),
    ("three point one four", 3.14), ("two and a half", 2.5), ("a million", 1_000_000), ("a dozen", 12),
    ("minus seven", -7), ("five hundred thousand", 500_000), ("the moon", None), ("twenty fifteen", None),
])
def test_spoken_numbers(text, value):
    got = number(text)
    assert (got is None and value is None) or float(got) == value


@pytest.mark.parametrize("value, text", [
    (84, "84"), (12.5, "12.5"), (5280, "5,280"), (-2, "minus 2"), (2**64, "1.84 times ten to the power of 19"),
])
def test_numbers_said(value, text):
    assert say(value)[0] == text
