"""The general-question fallback: says honestly what it can't answer."""

from __future__ import annotations

from common.nlu import Intent
from regional.skills.base import Context

CAN_DO = "I can tell the time in a city, convert units, do sums and set timers."


class GeneralQuestionSkill:
    """AskQuestion (the wildcard "who/what/how ..."), and any intent whose skill declined."""

    intents = frozenset({"AskQuestion"})
    description = "general questions"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        question = ctx.transcript.strip().rstrip("?.!")
        return (f'I heard the question "{question}?", but I can\'t look that up: '
                f"I have no web search or encyclopedia. {CAN_DO}")
