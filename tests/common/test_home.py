"""The home model: the demo home, HA's fixtures as a home, a hand-written file, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS
from common.home import DEMO_HOME, HOME_ENV, HomeError, default_home, home_file, load_home

FIXTURES = CORPUS / "ha-intents" / "tests" / "en" / "_fixtures.yaml"


def test_the_demo_home_is_the_default_and_finds_by_name_area_floor_and_domain(monkeypatch):
    monkeypatch.delenv(HOME_ENV, raising=False)
    assert home_file() == DEMO_HOME
    home = default_home()
    assert home.area(home.here).name == "Living Room"
    assert [e.name for e in home.find(area="kitchen", domain="light")] == ["Kitchen Ceiling Light"]
    assert {e.name for e in home.find(floor="upstairs", domain="fan")} == {"Bedroom Fan"}
    assert home.find(name="television")[0].id == "media_player.tv"  # an alias
    assert home.find(name="TV")[0].number("volume_level") == 30
    assert default_home() is not home, "each caller gets its own copy"


def test_home_assistants_fixtures_load_as_a_home():
    home = load_home(FIXTURES)
    assert len(home.floors) == 5 and len(home.areas) == 8 and len(home.entities) > 100
    battery = next(e for e in home.entities if e.id == "binary_sensor.phone_battery")
    assert (battery.state, battery.spoken_state, battery.device_class) == ("off", "normal", "battery")
    assert home.find(name="kitchen countertop", floor="First Floor")[0].domain == "light"


def test_a_hand_written_home_and_what_is_wrong_with_a_bad_one(tmp_path, monkeypatch):
    good = tmp_path / "home.yaml"
    good.write_text("here: den\nareas: [{id: den, name: Den}]\n"
                    "entities: [{name: Desk Lamp, domain: light, area: Den, state: 'on'}]\n")
    monkeypatch.setenv(HOME_ENV, str(good))
    lamp = default_home().find(name="desk lamp")[0]
    assert (lamp.id, lamp.area, lamp.state) == ("light.desk_lamp", "den", "on")
    for text, why in [("entities: [{name: X, domain: light, area: attic}]", "no area 'attic'"),
                      ("entities: [{state: 'on'}]", "needs a name"),
                      ("- just a list", "a mapping"), ("here: attic", "here: no area")]:
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(HomeError, match=why):
            load_home(tmp_path / "bad.yaml")
    with pytest.raises(HomeError, match="No such file"):
        load_home(tmp_path / "missing.yaml")


def test_a_bad_home_file_on_the_command_line_is_one_line_and_status_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("entities: [{name: X, domain: light, area: attic}]")
    proxima = Path(sys.executable).parent / "proxima"  # the console script, in a process of its own
    run = subprocess.run([str(proxima), "device", "--wav", "x.wav", "--home", str(tmp_path / "bad.yaml")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    err = run.stderr.strip()
    assert err.startswith("proxima device: error: ") and "no area 'attic'" in err and "\n" not in err
