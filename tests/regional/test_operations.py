"""Operations of a real tier: reflection, Prometheus metrics, draining on
SIGTERM, and logs keyed by utterance id without the words (finished and
cancelled streams alike)."""

from __future__ import annotations

import itertools
import re
import signal
import threading
import time
import urllib.request

import grpc
import pytest

from conftest import corpus
from device.source import read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes
from proxima.tiers import TierProcess

CLIP = "pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"


def requests(uid, audio, pause_s=0.0):
    yield pb.ConverseRequest(config=stream_config(uid, "alexa", "en", "ops", "", ""))
    for i in range(0, len(audio), 16000):
        yield pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(audio[i:i + 16000])))
    time.sleep(pause_s)
    yield pb.ConverseRequest(end_of_audio=pb.EndOfAudio())


@pytest.fixture(scope="module")
def tier():
    with TierProcess("regional", extra_args=("--metrics-port", "0", "--log-level", "INFO")) as t:
        yield t


def test_reflection_lists_the_services(tier):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with grpc.insecure_channel(tier.address) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        reply = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in reply.list_services_response.service}
    assert {"proxima.v1.Assistant", "grpc.health.v1.Health"} <= names


def test_metrics_and_logs_after_an_utterance(tier):
    audio = read_audio(corpus(CLIP))
    with grpc.insecure_channel(tier.address) as ch:
        final = list(pb_grpc.AssistantStub(ch).Converse(requests("u-ops", audio), timeout=30))[-1]
    assert "young man" in final.transcript.text.lower()
    text = metrics_text(tier)
    assert re.search(r'proxima_utterances_total\{tier="regional"\} [1-9]', text)
    assert 'proxima_stage_seconds_count{stage="asr",tier="regional"}' in text
    assert 'proxima_active_streams{tier="regional"} 0.0' in text
    time.sleep(0.2)
    logged = [line for line in tier.output if "utterance=u-ops" in line]
    assert logged, "one INFO line keyed by the utterance id"
    assert not any("young" in line.lower() for line in tier.output), "no words at INFO"


def metrics_text(tier) -> str:
    url = re.search(r"metrics on (http://\S+)\)", "\n".join(tier.output)).group(1)
    return urllib.request.urlopen(url, timeout=5).read().decode()


def wait_for_line(tier, phrase, timeout_s=10.0) -> str:
    """The tier's first output line containing ``phrase``, waiting up to ``timeout_s`` s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := [line for line in tier.output if phrase in line]:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no line with {phrase!r} in the tier's output: {tier.output[-5:]}")


def test_a_cancel_message_is_logged_and_counted(tier):
    audio = read_audio(corpus(CLIP))[:16000]
    cancel = pb.ConverseRequest(cancel=pb.Cancel(reason="answered on the device"))
    with grpc.insecure_channel(tier.address) as ch:
        stream = itertools.chain(itertools.islice(requests("u-cancel-msg", audio), 2), [cancel])
        assert list(pb_grpc.AssistantStub(ch).Converse(stream, timeout=30)) == []
    line = wait_for_line(tier, "utterance=u-cancel-msg")
    assert "cancelled=message" in line and "audio_ms=1000" in line
    assert re.search(r'proxima_cancelled_streams_total\{how="message",tier="regional"\} [1-9]', metrics_text(tier))


def test_a_call_cancelled_by_the_client_is_logged_and_counted(tier):
    audio = read_audio(corpus(CLIP))[:16000]
    hold = threading.Event()

    def stream():  # config and one second of audio, then nothing until the call is cancelled
        yield from itertools.islice(requests("u-cancel-rpc", audio), 2)
        hold.wait(30)

    with grpc.insecure_channel(tier.address) as ch:
        call = pb_grpc.AssistantStub(ch).Converse(stream(), timeout=30)
        # The tier has read the config and the audio: its stream is open and a second has passed.
        deadline = time.monotonic() + 20
        while 'proxima_active_streams{tier="regional"} 1.0' not in metrics_text(tier) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        call.cancel()
        hold.set()
        line = wait_for_line(tier, "utterance=u-cancel-rpc")
    assert "cancelled=rpc" in line and "audio_ms=1000" in line
    text = metrics_text(tier)
    assert re.search(r'proxima_cancelled_streams_total\{how="rpc",tier="regional"\} [1-9]', text)
    assert 'proxima_active_streams{tier="regional"} 0.0' in text


def test_sigterm_drains_the_stream_in_flight():
    with TierProcess("regional") as t:
        audio = read_audio(corpus(CLIP))
        result = {}

        def talk():
            with grpc.insecure_channel(t.address) as ch:
                result["final"] = list(pb_grpc.AssistantStub(ch).Converse(requests("u-drain", audio, 1.5), timeout=30))[-1]

        th = threading.Thread(target=talk)
        th.start()
        time.sleep(0.7)  # the stream is open, its end of audio not yet sent
        t.proc.send_signal(signal.SIGTERM)
        th.join(30)
        assert result["final"].transcript.is_final and "young man" in result["final"].transcript.text.lower()
        assert t.proc.wait(15) == 0
