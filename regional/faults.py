"""Fault injection for tests and ``bench faults``: a servicer that misbehaves in
one documented way (``regional.config.Fault``), wrapped around the real one so
the production path carries no fault branches.

- ``never-reply``: reads the whole stream, acknowledges it, and never decodes
  the final or answers.
- ``stop-reading=S``: reads the config, then nothing more; from S s after the
  stream opened it never will (gRPC flow control then stops the client's sends).
- ``delay-ms=N``: holds the final decode, and so the answer, N ms after end of audio.
"""

from __future__ import annotations

import asyncio
import time

from regional.config import Fault
from regional.service import AssistantService
from regional.streaming import UtteranceAudio


class FaultyService(AssistantService):
    """An :class:`~regional.service.AssistantService` with ``fault`` injected into every stream.

    Args:
        fault: the fault.
        *args, **kw: as for ``AssistantService``.
    """

    def __init__(self, *args, fault: Fault, **kw) -> None:
        super().__init__(*args, **kw)
        self.fault = fault

    async def Converse(self, request_iterator, context):
        if self.fault.kind == "stop-reading":
            request_iterator = _stop_reading(request_iterator, self.fault.value)
        async for response in super().Converse(request_iterator, context):
            yield response

    def utterance_audio(self, on_interim, latency_first: bool = False) -> UtteranceAudio:
        audio = super().utterance_audio(on_interim, latency_first)
        if self.fault.kind in ("never-reply", "delay-ms"):
            final, fault = audio.final, self.fault

            async def held():
                if fault.kind == "never-reply":
                    await asyncio.Event().wait()
                await asyncio.sleep(fault.value / 1000.0)
                return await final()

            audio.final = held
        return audio


async def _stop_reading(requests, after_s: float):
    """``requests``' first message (the config), then nothing, ever."""
    opened = time.monotonic()
    async for request in requests:
        yield request
        break
    await asyncio.sleep(max(0.0, after_s - (time.monotonic() - opened)))
    await asyncio.Event().wait()
