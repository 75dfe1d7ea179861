"""Weather, through a pluggable provider; none is configured by default.

A provider is any object with ``forecast(place, when) -> str`` (the reply
text). Plug one in either way:

* in code: ``regional.skills.set_weather_provider(MyProvider())``;
* for ``proxima serve``: ``PROXIMA_WEATHER_PROVIDER=package.module:name``,
  where ``name`` is a provider, or a class or function that returns one
  when called with no arguments. It is imported on the first weather question.

Without one, the reply says that no weather provider is configured.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from typing import Protocol, runtime_checkable

from common.nlu import Intent
from regional.skills.base import Context

ENV = "PROXIMA_WEATHER_PROVIDER"
log = logging.getLogger(__name__)


@runtime_checkable
class WeatherProvider(Protocol):
    """A source of forecasts."""

    def forecast(self, place: str | None, when: str | None) -> str:
        """The reply text for the weather at ``place`` (None: where the device is) and
        ``when`` ("today", "tonight", "tomorrow", "this week", "this weekend"; None: now)."""
        ...


_provider: WeatherProvider | None = None
_loaded_from_env = False


def set_weather_provider(provider: WeatherProvider | None) -> None:
    """Use ``provider`` for weather questions (None: none; the environment is not read again)."""
    global _provider, _loaded_from_env
    if provider is not None and not isinstance(provider, WeatherProvider):
        raise TypeError(f"{provider!r} has no forecast(place, when) method")
    _provider, _loaded_from_env = provider, True


def weather_provider() -> WeatherProvider | None:
    """The configured provider: set in code, else named by ``PROXIMA_WEATHER_PROVIDER``, else None.

    Raises:
        ValueError: the variable names something that cannot be imported or is no provider.
    """
    if not _loaded_from_env and os.environ.get(ENV):
        spec = os.environ[ENV]
        module, _, name = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module), name)
            provider = obj() if isinstance(obj, type) or not isinstance(obj, WeatherProvider) else obj
        except Exception as exc:
            raise ValueError(f"{ENV}={spec}: cannot load a weather provider ({exc})") from exc
        set_weather_provider(provider)
    return _provider


_WHEN = re.compile(r"\s+(today|tonight|tomorrow|this week|this weekend|right now|now)$", re.IGNORECASE)


class WeatherSkill:
    """Forecasts from the configured ``WeatherProvider``; honest when there is none."""

    intents = frozenset({"GetWeather"})
    description = "weather forecasts"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        place = _WHEN.sub("", intent.slots.get("place", "").strip(" .?!,")) or None
        when = intent.slots.get("when") or None
        try:
            provider = weather_provider()
        except ValueError as exc:
            log.error("%s", exc)
            return "The weather provider could not be loaded, so I can't tell you the weather."
        if provider is None:
            what = " ".join(filter(None, ["the weather", f"in {place}" if place else "", when or ""]))
            return (f"No weather provider is configured, so I can't tell you {what}. "
                    f"An administrator can plug one in with the {ENV} setting.")
        try:
            return provider.forecast(place, when)
        except Exception:
            log.exception("weather provider %r failed", provider)
            return "The weather provider didn't answer, so I can't tell you the weather right now."
