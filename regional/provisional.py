"""Provisional results: the answer to the audio up to the device's SPEECH_END
hint, sent before the audio ends (``StreamConfig.provisional_results``).

When the early decode a hint started is done and still stands
(``regional.streaming.UtteranceAudio.on_speculated``), the tier runs NLU and
its skills on it *without acting* (``regional.skills.answer(dry_run=True)``:
the home skill answers on a copy of the home) and sends a ``Provisional``.
The device can then synthesise the reply during its end-of-turn pause.

At end of audio the final settles it. When the final transcript *is* that
early decode (only silence followed the hint, ``UtteranceAudio.final``), the
final reuses the provisional's understanding: the same intent, and the same
reply unless its skill acts (a home command is carried out now, for real,
once). Otherwise the final is worked out afresh, as with no provisional. A
SPEECH_RESUMED withdraws the early decode, so no provisional is sent for it
and the final never reuses it. A provisional made after the end of audio still
goes out while the final is being worked out (:func:`until_final`): a device
whose tier's final is late may answer with it (``device.attempt.Attempt.standing_answer``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from protos.v1 import assistant_pb2 as pb
from common.asr import AsrResult
from common.audio import SAMPLE_RATE
from common.nlu import Intent, IntentParser
from regional import skills

log = logging.getLogger("proxima.tier")


@dataclass(frozen=True)
class Foreseen:
    """What a tier would answer to the audio up to one hint."""

    hint: int
    """The SPEECH_END hint it answers (1 for the stream's first)."""
    samples: int
    """Audio it covers, samples at 16 kHz."""
    asr: AsrResult
    """The early decode it was made from."""
    parsed: Intent | None
    """The NLU's intent of that transcript."""
    intent: Intent | None
    """The intent as the skills answered it (``regional.skills.answer``)."""
    reply: str
    acts: bool
    """Answering it for real changes the tier's state: the final answers it again, for real."""


class Provisionals:
    """The provisional results of one stream.

    Args:
        parser: the tier's intent parser.
        tier: "regional" or "cloud" (its skills).
        uid: the stream's utterance id.
        time_zone: the device's IANA zone.
        send: puts a response on the stream's way out (called on the event loop).
    """

    def __init__(self, parser: IntentParser, tier: str, uid: str, time_zone: str,
                 send: Callable[[pb.ConverseResponse], None]) -> None:
        self._parser, self._tier, self._uid, self._tz, self._send = parser, tier, uid, time_zone, send
        self.latest: Foreseen | None = None
        """The last provisional result sent."""
        self.sent = 0
        """Provisional results sent on this stream."""

    def speculated(self, hint: int, samples: int, asr: AsrResult) -> None:
        """The early decode of ``hint`` is done and stands: send what the tier would answer."""
        try:
            parsed = self._parser.parse(asr.text, asr.confidence)
            intent, reply = skills.answer(parsed, asr.text, self._tz, self._tier, dry_run=True)
        except Exception:  # a skill's failure costs the provisional only; the final reports it
            log.exception("utterance=%s provisional result for hint %d failed", self._uid, hint)
            return
        self.latest = Foreseen(hint, samples, asr, parsed, intent, reply, skills.acts(parsed, self._tier))
        response = pb.ConverseResponse(utterance_id=self._uid, tier=self._tier, provisional=pb.Provisional(
            hint=hint, audio_ms=samples * 1000.0 / SAMPLE_RATE,
            transcript=pb.Transcript(text=asr.text, is_final=False, confidence=asr.confidence),
            reply=pb.Reply(text=reply), acts=self.latest.acts))
        if intent is not None:
            response.provisional.intent.CopyFrom(pb.Intent(name=intent.name, slots=intent.slots,
                                                           confidence=intent.confidence))
        self.sent += 1
        self._send(response)

    def confirmed(self, asr: AsrResult) -> Foreseen | None:
        """The provisional result the final ``asr`` confirms: the one made from that very
        decode; None when the final was decoded afresh (or none was sent)."""
        latest = self.latest
        return latest if latest is not None and latest.asr is asr else None


def parse(provisionals: Provisionals | None, asr: AsrResult, parser: IntentParser) -> Intent | None:
    """The final's intent: the confirmed provisional's, else ``parser``'s."""
    foreseen = provisionals.confirmed(asr) if provisionals is not None else None
    return foreseen.parsed if foreseen is not None else parser.parse(asr.text, asr.confidence)


def answer(provisionals: Provisionals | None, asr: AsrResult, intent: Intent | None, time_zone: str,
           tier: str) -> tuple[Intent | None, str]:
    """The final's (intent, reply): a confirmed provisional's, unless its skill acts (then,
    as with none, ``regional.skills.answer`` for real: the one time it acts)."""
    foreseen = provisionals.confirmed(asr) if provisionals is not None else None
    if foreseen is not None and not foreseen.acts:
        return foreseen.intent, foreseen.reply
    return skills.answer(intent, asr.text, time_zone, tier)


async def until_final(final: asyncio.Future, outbox: asyncio.Queue) -> AsyncIterator[pb.ConverseResponse]:
    """The provisional results put into ``outbox`` (the stream's way out) while
    ``final`` (the final decode) runs, as they come; none once it is done, since the
    final then carries the answer. Cancels ``final`` if the caller stops first (the
    client cancelled). Anything else in ``outbox`` after the end of audio is dropped."""
    taken = None
    try:
        while not final.done():
            taken = asyncio.ensure_future(outbox.get())
            await asyncio.wait((final, taken), return_when=asyncio.FIRST_COMPLETED)
            if taken.done() and not final.done() and isinstance(item := taken.result(), pb.ConverseResponse) \
                    and item.HasField("provisional"):
                yield item
    finally:
        for pending in (taken, final):
            if pending is not None and not pending.done():
                pending.cancel()
