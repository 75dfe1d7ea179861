"""Acting on the home: one function per intent, shared by the device and the tiers.

``act(home, intent)`` changes ``home`` (a ``common.home.Home``, simulated)
as the intent says and returns the reply; None for an intent that is not
about the home (timers, the time, weather...).
"""

from __future__ import annotations

from functools import partial

from common.actions import control, devices, lists, state
from common.home import Home
from common.nlu import Intent

_ACTIONS = {
    "HassTurnOn": partial(control.turn, on=True),
    "HassTurnOff": partial(control.turn, on=False),
    "HassLightSet": control.light_set,
    "HassSetPosition": control.set_position,
    "HassClimateSetTemperature": control.climate_set,
    "HassClimateGetTemperature": control.climate_get,
    "HassSetVolume": control.set_volume,
    "HassSetVolumeRelative": control.set_volume,
    "HassMediaPause": partial(control.media, action="pause"),
    "HassMediaUnpause": partial(control.media, action="unpause"),
    "HassMediaNext": partial(control.media, action="next"),
    "HassMediaPrevious": partial(control.media, action="previous"),
    "HassMediaSearchAndPlay": devices.play,
    "HassMediaPlayerMute": partial(devices.mute, muted=True),
    "HassMediaPlayerUnmute": partial(devices.mute, muted=False),
    "HassFanSetSpeed": devices.fan_speed,
    "HassVacuumStart": partial(devices.vacuum, start=True),
    "HassVacuumReturnToBase": partial(devices.vacuum, start=False),
    "HassGetState": state.get_state,
    "HassShoppingListAddItem": lists.shopping_add,
    "HassShoppingListCompleteItem": lists.shopping_complete,
    "HassListAddItem": partial(lists.todo, add=True),
    "HassListCompleteItem": partial(lists.todo, add=False),
    "HassListRemoveItem": partial(lists.todo, add=False),
}
HOME_INTENTS = frozenset(_ACTIONS)
"""Intents answered from the home."""


def act(home: Home, intent: Intent) -> str | None:
    """Carry out ``intent`` on ``home``; the reply, or None when it is not a home intent.

    Raises:
        ValueError: a slot that should be a number is not one.
    """
    action = _ACTIONS.get(intent.name)
    return None if action is None else action(home, dict(intent.slots))
