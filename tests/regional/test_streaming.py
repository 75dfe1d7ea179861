"""Streaming recognition on a real tier: interim results that only grow, and a
final decode started at the device's pause."""

from __future__ import annotations

import time

import grpc
import numpy as np

from conftest import LIVING_ROOM, corpus
from device.source import read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes
from regional.streaming import LocalAgreement

CLIP = "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"  # 7.1 s


def test_local_agreement_shows_only_words_two_hypotheses_share():
    la = LocalAgreement()
    assert la.update("and mister") is None
    assert la.update("and mister john") == "and mister"
    assert la.update("and mr john dashwood") is None, "a disagreement shows nothing new"
    assert la.update("and mr john dashwood had") is None, "stable text never shrinks or changes"
    assert la.stable == ["and", "mister"]


def paced(audio, events=(), realtime=True):
    """Config, then 80 ms chunks at real speed, VAD events at given sample offsets, then end."""
    yield pb.ConverseRequest(config=stream_config("u-stream", "alexa", "en", "t", "", ""))
    for i in range(0, len(audio), 1280):
        for at, kind in events:
            if at == i:
                yield pb.ConverseRequest(vad=pb.VadEvent(kind=kind))
        yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(audio[i:i + 1280])))
        if realtime:
            time.sleep(0.08)
    paced.end_sent = time.monotonic()
    yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())


def converse(address, requests):
    with grpc.insecure_channel(address) as ch:
        responses, final_at = [], None
        for r in pb_grpc.AssistantStub(ch).Converse(requests, timeout=60):
            responses.append(r)
            final_at = time.monotonic()
        return responses, final_at


def test_interim_results_grow_and_end_in_the_final(tiers):
    audio = read_audio(corpus(CLIP))
    responses, _ = converse(tiers["regional"], paced(audio))
    interims, final = responses[:-1], responses[-1]
    assert final.transcript.is_final and "dashwood" in final.transcript.text.lower()
    assert interims, "interim results came while the audio streamed"
    texts = [r.transcript.text for r in interims]
    for before, after in zip(texts, texts[1:]):
        assert after.startswith(before), "interim text only grows"
    assert all(not r.transcript.is_final and r.utterance_id == "u-stream" for r in interims)


def test_final_decode_starts_at_the_reported_pause(tiers):
    speech = read_audio(corpus("pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"))
    audio = np.concatenate([speech, np.zeros(12800, np.int16)])  # 0.8 s of hangover silence
    pause_at = (len(speech) // 1280 + 1) * 1280
    plain, plain_final = converse(tiers["regional"], paced(audio, realtime=False))
    plain_wait = plain_final - paced.end_sent
    early, early_final = converse(tiers["regional"], paced(audio, [(pause_at, pb.VadEvent.SPEECH_END)]))
    early_wait = early_final - paced.end_sent
    assert early[-1].transcript.text == plain[-1].transcript.text
    assert early_wait < plain_wait, (early_wait, plain_wait)


def test_resumed_speech_discards_the_early_decode(tiers):
    first = read_audio(corpus("pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"))
    second = read_audio(corpus("pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0930.wav"))
    gap = np.zeros(6400, np.int16)
    audio = np.concatenate([first, gap, second])
    pause_at = (len(first) // 1280 + 1) * 1280
    resume_at = ((len(first) + len(gap)) // 1280) * 1280
    responses, _ = converse(tiers["regional"], paced(audio, [(pause_at, pb.VadEvent.SPEECH_END),
                                                             (resume_at, pb.VadEvent.SPEECH_RESUMED)], realtime=False))
    text = responses[-1].transcript.text.lower()
    assert "young man" in text and "amiable himself" in text, text


def test_the_final_covers_speech_after_the_pause_the_vad_missed(tiers):
    """The command 35 dB down: its VAD hears a pause at 0.96 s while "room light" goes on
    below threshold; the early decode stops there, the final must not."""
    quiet = (read_audio(corpus(LIVING_ROOM)).astype(np.float32) * 10 ** (-35 / 20)).astype(np.int16)
    audio = np.concatenate([quiet, np.zeros(8000, np.int16)])
    responses, _ = converse(tiers["regional"], paced(audio, [(12 * 1280, pb.VadEvent.SPEECH_END)], realtime=False))
    assert "room light" in responses[-1].transcript.text.lower(), responses[-1].transcript.text


def _interims(responses) -> list[str]:
    return [r.transcript.text for r in responses if not r.transcript.is_final]


def test_no_interim_decode_beside_a_standing_pause(tiers):
    """A pause reported half a second in and never withdrawn: its early decode stands
    all along, so the growing buffer is not decoded beside it (the same clip without
    the pause gets interim results, above), and the final still covers everything."""
    audio = read_audio(corpus(CLIP))
    responses, _ = converse(tiers["regional"], paced(audio, [(6 * 1280, pb.VadEvent.SPEECH_END)]))
    assert _interims(responses) == []
    assert "dashwood" in responses[-1].transcript.text.lower()


def test_a_latency_first_stream_gets_no_interim_results(tiers):
    """A stream its device waits on (a hedge) is decoded once, greedily, at the end."""
    def latency_first(requests):
        config = next(requests)
        config.config.latency_first = True
        yield config
        yield from requests

    responses, _ = converse(tiers["regional"], latency_first(paced(read_audio(corpus(CLIP)))))
    assert _interims(responses) == []
    assert "dashwood" in responses[-1].transcript.text.lower()
