"""Uplink codecs: Opus through libopus round trip, through a real tier, bad
packets refused, and a device streaming Opus failing over mid-utterance."""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import AUSTEN_0880, LIVING_ROOM, WAKE_MYCROFT, corpus, reference
from device.source import FileSource, read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common import codec
from common.audio import FRAME_SAMPLES
from proxima.text import wer
from proxima.tiers import TierProcess

END = pb.ConverseRequest(end_of_audio=pb.EndOfAudio())


def encoded(audio: np.ndarray, name: str) -> list[bytes]:
    """Payloads for ``audio`` sent in 80 ms frames, as a device does."""
    enc = codec.encoder(name)
    payloads = [enc.encode(audio[i:i + FRAME_SAMPLES]) for i in range(0, len(audio), FRAME_SAMPLES)]
    return [p for p in [*payloads, enc.flush()] if p]


def converse(address: str, name: str, payloads: list[bytes]):
    requests = [pb.ConverseRequest(config=stream_config("u-codec", "alexa", "en", "t", "", "", codec=name)),
                *(pb.ConverseRequest(audio=pb.AudioChunk(data=p)) for p in payloads), END]
    with grpc.insecure_channel(address) as ch:
        return list(pb_grpc.AssistantStub(ch).Converse(iter(requests), timeout=30))


def test_opus_round_trip_keeps_the_speech_in_a_sixth_of_the_bytes():
    audio = read_audio(corpus(LIVING_ROOM))
    payloads = encoded(audio, "opus")
    dec = codec.decoder("opus")
    out = np.concatenate([*(dec.decode(p) for p in payloads), dec.flush()])
    assert out.dtype == np.int16
    assert 0 <= len(out) - len(audio) <= 104 + 320  # the lookahead and a padded last packet, at most
    assert sum(map(len, payloads)) < len(audio) * 2 / 6  # 32 kbit/s and framing, against 256
    # A perceptual codec is not sample-exact, but the waveform is there, 6.5 ms
    # late (libopus's lookahead: 104 samples at 16 kHz).
    x = audio[:-400].astype(float)
    corr = [np.corrcoef(x, out[k:k + len(x)])[0, 1] for k in range(300)]
    assert abs(int(np.argmax(corr)) - 104) <= 2
    assert max(corr) > 0.85, max(corr)


def test_framing_round_trips_and_rejects_partial_packets():
    packets = [b"\x01", b"\x02" * 300]
    assert codec.unpack(codec.pack(packets)) == packets
    assert codec.unpack(codec.pack(packets) * 2) == packets * 2  # payloads concatenate
    for bad, phrase in [(codec.pack(packets)[:-1], "runs past the end"), (b"\x05", "inside a length prefix"),
                        (b"\x00\x00", "empty Opus packet")]:
        with pytest.raises(codec.CodecError, match=phrase):
            codec.unpack(bad)


JFK = "faster-whisper/tests/data/jfk.flac"


def test_opus_through_a_real_tier_gives_the_pcm16_transcript(tiers):
    audio = read_audio(corpus(JFK))
    pcm = converse(tiers["regional"], "pcm16", encoded(audio, "pcm16"))[-1]
    opus = converse(tiers["regional"], "opus", encoded(audio, "opus"))[-1]
    assert opus.transcript.is_final and opus.utterance_id == "u-codec"
    assert wer(pcm.transcript.text, opus.transcript.text) <= 0.15, (pcm.transcript.text, opus.transcript.text)
    assert wer(reference(JFK), opus.transcript.text) <= 0.15, opus.transcript.text


@pytest.mark.parametrize("payload, phrase", [
    (codec.pack([b"\xff\xfe garbage"]), "does not decode"),     # a packet libopus rejects
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "runs past the end"),     # not length-prefixed packets at all
])
def test_garbage_opus_gets_invalid_argument(tiers, payload, phrase):
    good = encoded(np.zeros(3200, np.int16), "opus")
    with pytest.raises(grpc.RpcError) as err:
        converse(tiers["regional"], "opus", [*good, payload])
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert phrase in err.value.details()


def test_opus_device_fails_over_mid_utterance_without_losing_speech(tiers, make_pipeline):
    with TierProcess("regional") as regional:
        pipeline = make_pipeline([regional.address], tiers["cloud"], uplink={"codec": "opus"})

        def kill_once_streaming():
            while pipeline.state != "listening":
                time.sleep(0.01)
            time.sleep(1.0)
            regional.proc.kill()

        threading.Thread(target=kill_once_streaming, daemon=True).start()
        r, = pipeline.run(FileSource([corpus(WAKE_MYCROFT), corpus(AUSTEN_0880)], realtime=True, tail_s=2.0).frames())
    assert r.route == "cloud", (r.route, r.error)
    assert "regional" in r.failovers[0]
    assert wer(reference(AUSTEN_0880), r.transcript) <= 0.15, r.transcript


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(st.one_of(st.binary(max_size=400), st.lists(st.binary(min_size=1, max_size=300)).map(codec.pack)),
                         max_size=5))
def test_any_bytes_decode_to_samples_or_a_codec_error(payloads):
    dec = codec.decoder("opus")
    for payload in payloads:
        try:
            out = dec.decode(payload)
        except codec.CodecError as err:
            assert str(err)
            return
        assert out.dtype == np.int16 and out.ndim == 1
