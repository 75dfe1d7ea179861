"""Provisional results on the device, against real tiers: a question's reply is
synthesized from the tier's provisional result while the end of turn is
decided, and taken over when the final confirms it; speech that resumes drops
it (the reply heard is the final's); a tier that sends none (an older one) is
simply waited for; a command from the tier is carried out once, on the final.
A tier that is late with its final, or misses its deadline, after a standing
provisional result that acts on nothing is answered by that result.

The streams are the device's own frames with a gate: at a pause the replay
waits for the tier's provisional result before the rest of the silence, so
what is tested does not hang on how fast a loaded machine decodes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest

from conftest import WAKE_MYCROFT, corpus
from device.config import DeviceConfig, EndpointConfig, UplinkConfig
from device.events import AudioFrame
from device.pipeline import Pipeline
from device.source import read_audio
from device.speech import ReplyVoice
from device.tts import Synthesizer
from proxima.tiers import TierProcess
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from spoken import silence, spoken

LONG_PAUSES = EndpointConfig(endpointing="fixed", hangover_ms=1500.0)
"""A pause within the question does not end the turn."""


class Gate:
    """A point of the replay where it waits until ``pipeline`` has foreseen a reply from a
    tier's provisional result (or ``timeout_s``); ``seen`` is that reply, or None."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.seen: str | None = None
        self.check = lambda: None
        """Also run at the gate (while the reply is foreseen and nothing is decided)."""

    def wait(self, pipeline: Pipeline) -> None:
        assert pipeline.open_utterance is not None and pipeline.open_utterance.paused, "a pause runs at the gate"
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            utt = pipeline.open_utterance
            if utt.foreseen is not None:
                self.seen = utt.foreseen
                break
            time.sleep(0.01)
        self.check()


def replay(pipeline: Pipeline, *pieces):
    """The wake clip, then ``pieces`` (audio, or a :class:`Gate`) as one stream of frames, as fast as
    the pipeline goes; at each gate, silent frames until the VAD hears a pause, then the gate's
    wait (the frames before it processed). The results."""
    def frames():
        audio = [silence(1.0), read_audio(corpus(WAKE_MYCROFT))]
        at = 0
        for piece in [*pieces, None]:
            if isinstance(piece, np.ndarray):
                audio.append(piece)
                continue
            whole = np.concatenate(audio)
            whole = np.concatenate([whole, np.zeros((-len(whole)) % FRAME_SAMPLES, np.int16)])
            for i in range(0, len(whole), FRAME_SAMPLES):
                yield AudioFrame(whole[i:i + FRAME_SAMPLES], (at + i) * 1000.0 / SAMPLE_RATE)
            at += len(whole)
            audio = []
            if piece is None:
                continue
            for _ in range(4):  # silence until the VAD hears the pause (the router tells the tier)
                if pipeline.open_utterance is not None and pipeline.open_utterance.paused:
                    break
                yield AudioFrame(np.zeros(FRAME_SAMPLES, np.int16), at * 1000.0 / SAMPLE_RATE)
                at += FRAME_SAMPLES
            piece.wait(pipeline)
    return list(pipeline.run(frames()))


@pytest.fixture(scope="module")
def synthesizer():
    return Synthesizer()


@pytest.fixture(scope="module")
def make(synthesizer):
    made = []

    def build(regional: str, cloud: str, uplink: dict | None = None, **kw) -> Pipeline:
        p = Pipeline(DeviceConfig(uplink=UplinkConfig(regional=(regional,), cloud=cloud, **(uplink or {})), **kw),
                     voice=ReplyVoice(synthesizer))
        made.append(p)
        return p

    yield build
    for p in made:
        p.close()


def test_a_question_s_reply_is_prepared_from_the_provisional_result_and_used(tiers, make, synthesizer):
    pipeline = make(tiers["regional"], tiers["cloud"])
    gate = Gate()
    r, = replay(pipeline, spoken("What is the weather in Berlin tomorrow?"), gate, silence(1.5))
    assert r.route == "regional" and "Berlin" in r.reply
    assert gate.seen == r.reply, "the provisional result's reply was being synthesized during the pause"
    assert pipeline.endpointer.held == 0, "the tier understood the question: the turn was not held"
    counts = pipeline.router.provisionals
    assert counts["prepared"] >= 1 and counts["used"] == 1 and counts["stale"] == 0, counts
    assert not synthesizer.preparing(r.reply), "the prepared speech was taken over"
    assert r.speech is not None and r.latency_ms["speech_end_to_first_audio"] is not None
    assert np.array_equal(r.speech.result(30).samples, synthesizer.synthesize(r.reply).samples)


def test_speech_that_resumes_drops_the_provisional_reply(tiers, make, synthesizer):
    pipeline = make(tiers["regional"], tiers["cloud"], endpoint=LONG_PAUSES)
    gate = Gate()
    r, = replay(pipeline, spoken("Who wrote the novel"), gate, silence(0.24),
                spoken("Pride and Prejudice?"), silence(2.0))
    assert gate.seen is not None and "novel" in gate.seen and "Pride" not in gate.seen
    assert r.route == "regional" and "pride" in r.reply.lower(), "the reply answers the whole question"
    assert r.reply != gate.seen
    assert pipeline.router.provisionals["discarded"] >= 1
    assert not synthesizer.preparing(gate.seen), "the stale reply's synthesis was dropped"
    heard = r.speech.result(30).samples
    assert np.array_equal(heard, synthesizer.synthesize(r.reply).samples), "what is heard is the final's reply"


class OldTier(pb_grpc.AssistantServicer):
    """A tier from before provisional results, in front of a real one: it cannot read
    ``StreamConfig.provisional_results`` (an unknown field to it), so it never sends one."""

    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.AssistantStub(self._channel)
        self.asked: list[bool] = []

    def Converse(self, request_iterator, context):
        def forward():
            for request in request_iterator:
                if request.HasField("config"):
                    self.asked.append(request.config.provisional_results)
                    request.config.ClearField("provisional_results")
                yield request
        yield from self._stub.Converse(forward(), timeout=60)


@pytest.fixture(scope="module")
def old_tier(tiers):
    tier = OldTier(tiers["regional"])
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_AssistantServicer_to_server(tier, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield tier, f"127.0.0.1:{port}"
    server.stop(0)
    tier._channel.close()


def test_a_tier_that_sends_no_provisional_result_is_waited_for(old_tier, tiers, make):
    tier, address = old_tier
    pipeline = make(address, tiers["cloud"])
    gate = Gate(timeout_s=2.0)
    r, = replay(pipeline, spoken("What is the weather in Berlin tomorrow?"), gate, silence(1.5))
    assert tier.asked == [True], "the device asked"
    assert gate.seen is None and pipeline.router.provisionals["received"] == 0
    assert pipeline.endpointer.held == 0, "no provisional result: nothing says the words were not understood"
    assert r.route == "regional" and "Berlin" in r.reply and r.error is None
    assert r.speech is not None and r.latency_ms["speech_end_to_first_audio"] is not None


def test_a_command_from_the_tier_is_carried_out_once_on_the_final(tiers, make):
    pipeline = make(tiers["regional"], tiers["cloud"], policy="remote-only")
    gate = Gate()
    gate.check = lambda: _assert_not_added(pipeline)
    r, = replay(pipeline, spoken("Add bread to my shopping list."), gate, silence(1.5))
    assert r.route == "regional" and r.intent.name == "HassShoppingListAddItem"
    assert gate.seen == r.reply == "Added bread to your shopping list.", "foreseen as the device would answer it"
    assert pipeline.skills.home.shopping_list.count("bread") == 1
    assert [s.name for s in r.spans].count("device.skill") == 1
    assert pipeline.router.provisionals["used"] == 1


@pytest.fixture(scope="module")
def never_replying():
    """A regional tier that reads and acknowledges every stream, sends its provisional
    results, and never its final (``--fault never-reply``)."""
    with TierProcess("regional", extra_args=("--fault", "never-reply")) as tier:
        yield tier.address


def test_a_late_tier_s_standing_provisional_result_is_the_answer(never_replying, tiers, make):
    """Only silence followed the hint and the answer acts on nothing: it is the final's
    answer, so the device takes it once the final is late, with no hedge and no decode
    from scratch on the cloud."""
    pipeline = make(never_replying, tiers["cloud"])
    gate = Gate()
    r, = replay(pipeline, spoken("What is the weather in Berlin tomorrow?"), gate, silence(1.5))
    assert r.route == "regional" and "Berlin" in r.reply and r.error is None, (r.route, r.failovers)
    assert r.reply == gate.seen
    assert len(r.failovers) == 1 and "provisional answer (late: no final" in r.failovers[0], r.failovers
    assert pipeline.uplink.hedges == 0 and pipeline.uplink.hedge_bytes == 0, "the cloud was never asked"


def test_without_hedging_a_missed_deadline_takes_the_standing_provisional_result(never_replying, tiers, make):
    """The result deadline fails the tier after end of audio; its standing provisional
    result answers rather than the cloud from scratch."""
    pipeline = make(never_replying, tiers["cloud"], uplink={"hedge": False})
    gate = Gate()
    r, = replay(pipeline, spoken("What time is it in Tokyo?"), gate, silence(1.5))
    assert r.route == "regional" and "Tokyo" in r.reply and r.reply == gate.seen, (r.route, r.failovers)
    assert len(r.failovers) == 1 and "provisional answer (DEADLINE_EXCEEDED" in r.failovers[0], r.failovers
    assert pipeline.uplink.hedges == 0


def test_a_provisional_result_that_comes_after_the_end_of_audio_still_answers_a_late_tier(never_replying, tiers, make):
    """No gate: the replay outruns the tier's early decode, so its provisional result
    comes only after the end of audio (the tier sends it while its final is held).
    It answers at the late deadline, or after the hedge if it came later still."""
    pipeline = make(never_replying, tiers["cloud"])
    r, = replay(pipeline, spoken("What is the weather in Berlin tomorrow?"), silence(1.5))
    assert r.route == "regional" and "Berlin" in r.reply and r.error is None, (r.route, r.failovers)
    assert len(r.failovers) == 1 and "provisional answer (late: " in r.failovers[0], r.failovers


def test_a_late_tier_s_provisional_result_that_acts_is_not_taken(never_replying, tiers, make):
    """The tier's skill acts on a shopping-list command (``Provisional.acts``), which
    only a final may do: the late tier is hedged, the cloud answers, and the item is
    added once."""
    pipeline = make(never_replying, tiers["cloud"], policy="remote-only")
    gate = Gate()
    gate.check = lambda: _assert_not_added(pipeline)
    r, = replay(pipeline, spoken("Add butter to my shopping list."), gate, silence(1.5))
    assert gate.seen is not None, "the provisional result came"
    assert r.route == "cloud" and r.intent.name == "HassShoppingListAddItem", (r.route, r.failovers)
    assert "hedged to cloud (late" in r.failovers[0], r.failovers
    assert pipeline.skills.home.shopping_list.count("butter") == 1


def _assert_not_added(pipeline: Pipeline) -> None:
    assert "bread" not in pipeline.skills.home.shopping_list, "nothing is carried out for a provisional result"


def test_a_discarded_prepared_reply_stops_and_is_not_cached(synthesizer):
    synthesizer.clear_cache()
    long = ("It is sunny in Berlin today. The high will be twenty one degrees, "
            "with a light wind from the west in the afternoon. Tomorrow brings rain.")
    synthesizer.prepare("Okay.")  # the preparer is busy with this one: the long reply has not started
    synthesizer.prepare(long)
    synthesizer.discard(long)
    assert not synthesizer.preparing(long)
    assert synthesizer.synthesize("Okay.").samples.size > 0
    time.sleep(1.0)
    assert not synthesizer.cached(long), "nothing of a discarded reply is kept"
    heard = synthesizer.stream(long).result(30)
    assert np.array_equal(heard.samples, Synthesizer().synthesize(long).samples), "said later, it is said whole"


def test_a_provisional_result_that_plainly_goes_on_is_not_prepared():
    from types import SimpleNamespace

    from device.events import RemoteProvisional
    from device.router import Router, Utterance
    from device.skills import LocalSkills

    prepared = []
    router = Router(DeviceConfig(), None, LocalSkills(), None, None, None, None,
                    tts=SimpleNamespace(prepare=prepared.append, discard=lambda text: None))
    utt = Utterance(id="u", wake=None, root=None, stream=SimpleNamespace(stands=lambda hint: True))
    router.provisional(utt, RemoteProvisional("regional", 1, "What is the weather like for", None, "Sorry, I can't help with that yet."))
    assert prepared == [] and utt.foreseen is None, "the turn will not end at this pause"
    router.provisional(utt, RemoteProvisional("regional", 2, "Who wrote the novel?", None, "I heard the question."))
    assert prepared == ["I heard the question."] and utt.foreseen == "I heard the question."
