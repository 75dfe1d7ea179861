"""Skills: turn an understood intent into the reply the user hears.

Each skill (``base.Skill``) answers some intent names; each tier has its own
registry (``skills_for``). The cloud tier has every regional skill plus
powers and roots (``PowersAndRootsSkill``); the regional tier understands
those questions too (the templates are shared) and says which tier answers
them. Only what can be answered honestly is answered; anything else says so.

Device commands (timers, stop) are understood here but carried out by the
device, which owns them: the reply only confirms them. Intents about the
home (on/off, state questions, climate, covers, media, lists) are answered
from the tier's own copy of the home (``home.HomeSkill``); when a device is in
the loop, it carries them out on its copy and its reply is the one heard.

A skill whose reply changes the tier's state (the home) also has
``preview(intent, ctx)``: the same reply, worked out without acting.
``answer(..., dry_run=True)`` uses it, for provisional results
(``regional.provisional``); ``acts`` tells which intents have one.
"""

from __future__ import annotations

from common.nlu import Intent
from regional.skills.arithmetic import ArithmeticSkill, PowersAndRootsSkill
from regional.skills.base import Context, Skill
from regional.skills.commands import DeviceCommandsSkill
from regional.skills.general import GeneralQuestionSkill
from regional.skills.home import HomeSkill
from regional.skills.units import UnitsSkill, registry
from regional.skills.weather import WeatherProvider, WeatherSkill, set_weather_provider, weather_provider
from regional.skills.world_clock import ClockSkill

__all__ = ["Context", "Skill", "WeatherProvider", "acts", "answer", "reply_for", "set_weather_provider", "skills_for",
           "warm_up", "weather_provider", "NOT_UNDERSTOOD", "NOT_HEARD"]

NOT_UNDERSTOOD = "Sorry, I can't help with that yet."
NOT_HEARD = "Sorry, I didn't catch that."

_REGIONAL: tuple[Skill, ...] = (DeviceCommandsSkill(), HomeSkill(), ClockSkill(), WeatherSkill(), UnitsSkill(), ArithmeticSkill(),
                                GeneralQuestionSkill())
_TIERS: dict[str, tuple[Skill, ...]] = {
    "regional": _REGIONAL,
    "cloud": _REGIONAL + (PowersAndRootsSkill(),),
}
_GENERAL = next(s for s in _REGIONAL if isinstance(s, GeneralQuestionSkill))


def skills_for(tier: str) -> tuple[Skill, ...]:
    """The skills of ``tier`` ("regional" or "cloud").

    Raises:
        ValueError: an unknown tier.
    """
    try:
        return _TIERS[tier]
    except KeyError:
        raise ValueError(f"unknown tier {tier!r}: expected one of {', '.join(_TIERS)}") from None


def _skill(name: str, tier: str) -> Skill | None:
    return next((s for s in skills_for(tier) if name in s.intents), None)


def acts(intent: Intent | None, tier: str = "regional") -> bool:
    """True when answering ``intent`` on ``tier`` changes the tier's state (its skill has a ``preview``)."""
    skill = _skill(intent.name, tier) if intent is not None else None
    return skill is not None and hasattr(skill, "preview")


def answer(intent: Intent | None, transcript: str, time_zone: str = "",
           tier: str = "regional", dry_run: bool = False) -> tuple[Intent | None, str]:
    """The intent as answered, and the reply text.

    The intent is ``intent`` unless its skill declined it (the words fit its
    templates but not the skill, e.g. "what is the population in China"):
    then it is an ``AskQuestion`` for a question, or None. ``dry_run``: the
    same answer without acting (a skill that acts gives its ``preview``).
    """
    ctx = Context(transcript=transcript, time_zone=time_zone, tier=tier)
    if intent is None:
        return None, NOT_UNDERSTOOD if transcript.strip() else NOT_HEARD
    skill = _skill(intent.name, tier)
    if skill is None:
        others = [t for t in _TIERS if t != tier and _skill(intent.name, t)]
        if others:
            what = _skill(intent.name, others[0]).description
            return intent, (f"I understood, but {what} are worked out by the {others[0]} tier, "
                            f"and this is the {tier} tier, so I can't answer that here.")
        return intent, NOT_UNDERSTOOD
    reply = skill.preview(intent, ctx) if dry_run and hasattr(skill, "preview") else skill.reply(intent, ctx)
    if reply is not None:
        return intent, reply
    if not ctx.is_question:
        return None, NOT_UNDERSTOOD
    asked = Intent("AskQuestion", {"query": transcript.strip()}, intent.confidence)
    return asked, _GENERAL.reply(asked, ctx)


def reply_for(intent: Intent | None, transcript: str, time_zone: str = "", tier: str = "regional") -> str:
    """The reply text for ``intent`` (None: nothing understood) of ``transcript``.

    ``time_zone`` is the device's IANA zone; the server's own zone when empty
    or unknown. ``tier`` picks the skills (``skills_for``).
    """
    return answer(intent, transcript, time_zone, tier)[1]


def warm_up() -> None:
    """Do the slow first-use work now (pint's unit registry, about a second) rather than on the first question."""
    registry()
