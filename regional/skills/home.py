"""The home, as the tier knows it: state questions, climate, covers, lists, on/off.

The tier has its own copy of the home (``common.home.default_home``: the
file ``--home`` or ``PROXIMA_HOME`` names, else the demo home), loaded on
first use; nothing about the home crosses the wire. When a device is in the
loop it carries the intent out on its own copy and its reply is the one
heard (the device owns the home's state); this copy answers a caller with no
device (a test, grpcurl) and keeps the tier's replies truthful to itself.
"""

from __future__ import annotations

import copy
import threading

from common.actions import HOME_INTENTS, act
from common.home import Home, default_home
from common.nlu import Intent
from regional.skills.base import Context

_home: Home | None = None
_lock = threading.Lock()  # decodes run in a thread pool; one change at a time


def tier_home() -> Home:
    """This tier's home (loaded once)."""
    global _home
    with _lock:
        if _home is None:
            _home = default_home()
        return _home


class HomeSkill:
    """Every intent about the home (``common.actions.HOME_INTENTS``), on the tier's copy."""

    intents = HOME_INTENTS
    description = "questions and commands about the home"

    def reply(self, intent: Intent, ctx: Context) -> str | None:
        home = tier_home()
        with _lock:
            return act(home, intent)

    def preview(self, intent: Intent, ctx: Context) -> str | None:
        """The reply :meth:`reply` would give now, worked out on a copy of the home:
        the tier's home is left as it is (a provisional result acts on nothing)."""
        home = tier_home()
        with _lock:
            scratch = copy.deepcopy(home)  # a small home: well under a millisecond
        return act(scratch, intent)
