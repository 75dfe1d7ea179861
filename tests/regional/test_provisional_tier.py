"""Provisional results on a real tier: the answer to the audio up to a SPEECH_END
hint, sent before the audio ends, worked out without acting; withdrawn by
SPEECH_RESUMED; confirmed by the final; never sent to a client that did not ask;
sent after the end of audio too, while the final is still being worked out."""

from __future__ import annotations

import threading

import grpc
import numpy as np
import pytest

from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes
from proxima.tiers import TierProcess
from spoken import silence, spoken

END, RESUMED = pb.VadEvent.SPEECH_END, pb.VadEvent.SPEECH_RESUMED


class Wait:
    """A step of a scripted stream: send nothing more until provisional ``hint`` came (or ``timeout_s``)."""

    def __init__(self, hint: int, timeout_s: float = 30.0) -> None:
        self.hint, self.timeout_s = hint, timeout_s


def converse(address: str, steps, provisional: bool = True) -> list[pb.ConverseResponse]:
    """A stream of ``steps`` (audio arrays, VAD kinds, :class:`Wait`), then end of audio; its responses."""
    came = {hint: threading.Event() for hint in range(1, 5)}

    def requests():
        config = stream_config("u-provisional", "hey_mycroft", "en", "test", "", "")
        config.provisional_results = provisional
        yield pb.ConverseRequest(config=config)
        for step in steps:
            if isinstance(step, np.ndarray):
                for i in range(0, len(step), 1280):
                    yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(step[i:i + 1280])))
            elif isinstance(step, Wait):
                came[step.hint].wait(step.timeout_s)
            else:
                yield pb.ConverseRequest(vad=pb.VadEvent(kind=step))
        yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())

    responses = []
    with grpc.insecure_channel(address) as ch:
        for r in pb_grpc.AssistantStub(ch).Converse(requests(), timeout=60):
            responses.append(r)
            if r.HasField("provisional"):
                came[r.provisional.hint].set()
    return responses


def provisionals(responses) -> list[pb.Provisional]:
    return [r.provisional for r in responses if r.HasField("provisional")]


def test_a_provisional_result_answers_the_audio_up_to_the_hint_and_the_final_confirms_it(tiers):
    question = spoken("What is the weather in Berlin tomorrow?")
    responses = converse(tiers["regional"], [question, silence(0.08), END, Wait(1), silence(0.5)])
    final = responses[-1]
    assert final.transcript.is_final
    (p,) = provisionals(responses)
    assert p.hint == 1 and abs(p.audio_ms - (len(question) + 1280) / 16) < 1
    assert "berlin" in p.transcript.text.lower() and not p.transcript.is_final
    assert p.intent.name == "GetWeather" and p.intent.slots["place"].lower().startswith("berlin")
    assert "Berlin" in p.reply.text
    assert p.HasField("acts") and not p.acts, "a question acts on nothing: a late final may be replaced by it"
    carrying = next(r for r in responses if r.HasField("provisional"))
    assert not carrying.HasField("transcript"), "a provisional result is no interim result"
    assert carrying.utterance_id == "u-provisional" and carrying.tier == "regional"
    # Only silence after the hint: the final is that very answer.
    assert (final.transcript.text, final.reply.text, final.intent.name) == (p.transcript.text, p.reply.text, p.intent.name)


def test_speech_that_resumes_withdraws_the_provisional_result(tiers):
    first, rest = spoken("Who wrote the novel"), spoken("Pride and Prejudice?")
    responses = converse(tiers["regional"], [first, silence(0.08), END, Wait(1), RESUMED, rest, silence(0.5)])
    final = responses[-1]
    (p,) = provisionals(responses)
    assert "novel" in p.reply.text and "pride" not in p.reply.text.lower()
    assert "pride" in final.transcript.text.lower(), "the final covers the speech after the withdrawn hint"
    assert final.reply.text != p.reply.text and "pride" in final.reply.text.lower()


def test_no_provisional_result_for_a_hint_withdrawn_before_its_decode_ended(tiers):
    first, rest = spoken("Who wrote the novel"), spoken("Pride and Prejudice?")
    responses = converse(tiers["regional"], [first, silence(0.08), END, RESUMED, rest, silence(0.08), END, Wait(2),
                                             silence(0.5)])
    (p,) = provisionals(responses)
    assert p.hint == 2, "the first hint was withdrawn while its decode ran: nothing is sent for it"
    assert "pride" in p.transcript.text.lower()
    assert responses[-1].reply.text == p.reply.text


def test_a_command_is_foreseen_not_carried_out_and_the_final_carries_it_out_once(tiers):
    command = spoken("Add pancakes to my shopping list.")
    steps = [command, silence(0.08), END, Wait(1), silence(0.5)]
    responses = converse(tiers["regional"], steps)
    (p,) = provisionals(responses)
    assert p.intent.name == "HassShoppingListAddItem" and p.intent.slots["item"].lower() == "pancakes"
    assert p.reply.text == "Added pancakes to your shopping list."
    assert p.acts, "the tier's shopping list changes: only the final may answer it"
    assert responses[-1].reply.text == p.reply.text, "the provisional result added nothing: the final did"
    again = converse(tiers["regional"], steps)
    assert provisionals(again)[0].reply.text == again[-1].reply.text == "Pancakes is already on your shopping list."


def test_a_client_that_does_not_ask_gets_no_provisional_result(tiers):
    question = spoken("What is the weather in Berlin tomorrow?")
    responses = converse(tiers["regional"], [question, silence(0.08), END, Wait(1, timeout_s=1.5), silence(0.5)],
                         provisional=False)
    assert provisionals(responses) == []
    assert all(r.HasField("transcript") for r in responses), "an older client sees only what it always saw"
    assert "Berlin" in responses[-1].reply.text


@pytest.fixture(scope="module")
def never_replying():
    """A tier that takes every stream and never works out its final (``--fault never-reply``)."""
    with TierProcess("regional", extra_args=("--fault", "never-reply")) as tier:
        yield tier.address


def test_a_provisional_result_made_after_the_end_of_audio_still_comes_while_the_final_is_held(never_replying):
    """The hint, its silence and the end of audio all at once: the early decode ends
    only after the tier read the end of audio. Its provisional result must still go
    out, since a device whose final is late may answer with it."""
    question = spoken("What is the weather in Berlin tomorrow?")

    def requests():
        config = stream_config("u-after-end", "hey_mycroft", "en", "test", "", "")
        config.provisional_results, config.progress_interval_ms = True, 100
        yield pb.ConverseRequest(config=config)
        for i in range(0, len(question), 1280):
            yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(question[i:i + 1280])))
        yield pb.ConverseRequest(vad=pb.VadEvent(kind=END))
        yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(silence(0.5))))
        yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())

    seen = []
    with grpc.insecure_channel(never_replying) as ch:
        call = pb_grpc.AssistantStub(ch).Converse(requests(), timeout=30)
        for r in call:
            seen.append(r)
            if r.HasField("provisional"):
                call.cancel()
                break
    kinds = ["end-ack" if r.progress.HasField("final_due_ms") else "provisional" if r.HasField("provisional")
             else "other" for r in seen]
    assert kinds[-1] == "provisional", kinds
    assert "end-ack" in kinds, "the tier read the end of audio before the early decode ended"
    p = seen[-1].provisional
    assert p.hint == 1 and "Berlin" in p.reply.text and not p.acts
