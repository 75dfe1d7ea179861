"""The tier's Wyoming front (Home Assistant's protocol), through the ``wyoming``
package's own client against a real tier process: describe, server-side
endpointing with streamed interim text, any audio format, and bad input that
ends in an error event or a closed connection with the stream slot given back."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import grpc
import numpy as np
import pytest
import soxr
from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info

from conftest import AUSTEN_0880, LIVING_ROOM, corpus
from device.source import read_audio
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes
from proxima.bench.replays import speech_end_in_clip_ms
from proxima.tiers import REPO_ROOT, TierProcess
from common.endpointing import ENDS
from regional.endpoint import PAUSE, EndpointRules, ServerEndpointer

IDLE_S = 1.5
FMT = {"rate": 16000, "width": 2, "channels": 1}


@pytest.fixture(scope="module")
def tier(tmp_path_factory):
    trace = tmp_path_factory.mktemp("wyoming") / "tier.jsonl"
    with TierProcess("regional", extra_args=("--wyoming-port", "0", "--metrics-port", "0", "--log-level", "INFO",
                                             "--max-streams", "2", "--idle-timeout-s", str(IDLE_S),
                                             "--trace-file", str(trace))) as t:
        t.trace = trace
        yield t


def client(tier) -> AsyncTcpClient:
    host, port = tier.wyoming_address.rsplit(":", 1)
    return AsyncTcpClient(host, int(port), read_timeout=20)


def metrics(tier) -> str:
    url = re.search(r"metrics on (http://\S+)\)", "\n".join(tier.output)).group(1)
    return urllib.request.urlopen(url, timeout=5).read().decode()


def active_streams(tier) -> float:
    return float(re.search(r'proxima_active_streams\{tier="regional"\} (\S+)', metrics(tier)).group(1))


def wait_idle(tier, timeout_s=5.0) -> None:
    """Until the tier serves no stream (a leaked slot fails here)."""
    deadline = time.monotonic() + timeout_s
    while active_streams(tier) != 0:
        assert time.monotonic() < deadline, "a stream slot was not given back"
        time.sleep(0.05)


async def events_until_close(c: AsyncTcpClient) -> list[Event]:
    got = []
    while (event := await c.read_event()) is not None:
        got.append(event)
    return got


async def stream(tier, audio: np.ndarray, realtime: bool, stop: bool, tail_s: float = 0.0) -> list[tuple[float, Event]]:
    """As Home Assistant does: transcribe, audio-start, 1024-sample chunks (in real time
    or at once), reading all along; it stops sending at the first transcript. Returns
    (seconds since audio-start, event) until transcript-stop or the connection closes."""
    audio = np.concatenate([audio, np.zeros(int(tail_s * 16000), np.int16)])
    got: list[tuple[float, Event]] = []
    async with client(tier) as c:
        await c.write_event(Transcribe(language="en").event())
        await c.write_event(AudioStart(**FMT).event())
        t0 = time.monotonic()

        async def read():
            while (event := await c.read_event()) is not None:
                got.append((time.monotonic() - t0, event))
                if event.type == "transcript-stop":
                    return

        reader = asyncio.create_task(read())
        for n, i in enumerate(range(0, len(audio), 1024)):
            if reader.done():
                break
            await c.write_event(AudioChunk(audio=to_bytes(audio[i:i + 1024]), **FMT).event())
            if realtime:
                await asyncio.sleep(max(0.0, t0 + (n + 1) * 0.064 - time.monotonic()))
        if stop:
            await c.write_event(AudioStop().event())
        await asyncio.wait_for(reader, 20)
    return got


def test_the_tiers_endpointer_hints_the_pause_and_ends_after_the_hangover():
    audio = read_audio(corpus(LIVING_ROOM))
    speech_end_ms = speech_end_in_clip_ms(corpus(LIVING_ROOM))
    stream_ = np.concatenate([audio, np.zeros(16000, np.int16)])
    results = []
    for chunk in (1280, 333):  # 80 ms frames, and an odd size Home Assistant might send
        endpointer = ServerEndpointer()
        events = [(e, endpointer.now_ms) for i in range(0, len(stream_), chunk)
                  for e in endpointer.feed(stream_[i:i + chunk])]
        endpointer.close()
        results.append(events)
        assert [e for e, _ in events if e in ENDS] == ["speech_end"]
        assert events[-1][0] == "speech_end" and events[-2][0] == PAUSE, "the last pause started the hangover"
        assert abs(endpointer.speech_end_ms - speech_end_ms) < 250, "the VAD's end of speech is the clip's"
        assert abs(events[-1][1] - endpointer.speech_end_ms - EndpointRules().hangover_ms) <= 80
    assert results[0] == results[1], "chunking does not change the decisions"
    silence = ServerEndpointer()
    ended = [(e, silence.now_ms) for _ in range(100) for e in silence.feed(np.zeros(1280, np.int16))]
    assert [e for e, _ in ended] == ["no_speech"] and 0 <= ended[0][1] - EndpointRules().no_speech_timeout_ms < 80
    silence.close()


def test_describe_offers_one_streaming_program_that_endpoints_itself(tier):
    async def ask():
        async with client(tier) as c:
            await c.write_event(Describe().event())
            return Info.from_event(await c.read_event())

    program, = asyncio.run(ask()).asr
    assert program.name == "proxima" and program.installed
    assert program.supports_transcript_streaming and not program.requires_external_vad
    assert program.models[0].languages == ["en"] and program.models[0].name == "base"


def test_the_tier_ends_the_utterance_and_streams_text_before_it(tier):
    clip = corpus("pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")  # 7.1 s
    got = asyncio.run(stream(tier, read_audio(clip), realtime=True, stop=False, tail_s=4.0))
    kinds = [e.type for _, e in got]
    assert kinds[0] == "transcript-start" and kinds[-2:] == ["transcript", "transcript-stop"]
    assert set(kinds[1:-2]) == {"transcript-chunk"} and len(kinds) > 4, "stable interim words came while it spoke"
    at, final = next((t, Transcript.from_event(e)) for t, e in got if e.type == "transcript")
    assert "dashwood" in final.text.lower()
    # Server-side endpointing: no audio-stop was sent, the transcript came within 1 s of the end of speech.
    assert at - speech_end_in_clip_ms(clip) / 1000.0 < 1.0
    streamed = "".join(TranscriptChunk.from_event(e).text for _, e in got if e.type == "transcript-chunk").lower().split()
    assert streamed and streamed[0] == "and" and len(streamed) < len(final.text.split())
    first_text = next(t for t, e in got if e.type == "transcript-chunk")
    assert first_text < 7.1, "interim text came before the clip ended"


@pytest.mark.parametrize("rate,width,channels", [(22050, 2, 2), (48000, 4, 3)])
def test_any_rate_width_and_channel_count_is_converted(tier, rate, width, channels):
    audio = read_audio(corpus(LIVING_ROOM))
    wide = soxr.resample(audio.astype(np.float32) / 32768.0, 16000, rate)
    pcm = (np.repeat(wide[:, None], channels, axis=1) * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}").tobytes()
    fmt = {"rate": rate, "width": width, "channels": channels}

    async def send():
        async with client(tier) as c:
            await c.write_event(AudioStart(**fmt).event())
            step = 4096 * width * channels
            for i in range(0, len(pcm), step):
                await c.write_event(AudioChunk(audio=pcm[i:i + step], **fmt).event())
            await c.write_event(AudioStop().event())
            return await events_until_close(c)

    got = asyncio.run(send())
    assert [e.type for e in got][-2:] == ["transcript", "transcript-stop"]
    assert Transcript.from_event(got[-2]).text.strip() == "Turn on the living room light."
    wait_idle(tier)


BAD = {
    "unknown event": ([Event(type="synthesize", data={"text": "hi"})], "unknown-event"),
    "audio before audio-start": ([AudioChunk(audio=b"\0\0" * 512, **FMT).event()], "protocol"),
    "rate 0": ([AudioStart(rate=0, width=2, channels=1).event()], "bad-audio-format"),
    "chunk over the size limit": ([AudioStart(**FMT).event(), AudioChunk(audio=b"\0" * (64 * 1024 + 2), **FMT).event()],
                                  "chunk-too-large"),
    "half a sample": ([AudioStart(**FMT).event(), AudioChunk(audio=b"\0" * 3, **FMT).event()], "bad-audio-format"),
    "another language": ([Transcribe(language="de").event()], "unsupported-language"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_an_error_event_then_a_closed_connection(tier, case):
    events, code = BAD[case]

    async def send():
        async with client(tier) as c:
            for e in events:
                await c.write_event(e)
            return await events_until_close(c)

    got = asyncio.run(send())
    errors = [Error.from_event(e) for e in got if Error.is_type(e.type)]
    assert len(errors) == 1 and errors[0].code == code and errors[0].text, got
    assert got[-1].type == "error", "nothing follows the error: the tier closed the connection"
    wait_idle(tier)


def test_a_malformed_header_is_an_error_not_a_silent_close(tier):
    async def send():
        host, port = tier.wyoming_address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"this is not json\n")
        reply = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return reply

    header = json.loads(asyncio.run(send()).split(b"\n")[0])
    assert header["type"] == "error"


def test_the_error_reaches_a_client_still_sending_a_refused_chunk(tier):
    """The tier refuses an oversize chunk from its header while the payload is still
    on its way: closing with those bytes unread would reset the connection, and a
    reset can destroy the error event before the client reads it."""
    payload = b"\0" * (1 << 20)
    header = json.dumps({"type": "audio-chunk", "data": FMT, "payload_length": len(payload)}).encode() + b"\n"
    start = json.dumps({"type": "audio-start", "data": FMT}).encode() + b"\n"
    host, port = tier.wyoming_address.rsplit(":", 1)
    for _ in range(5):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(start + header + payload[:256 * 1024])
            time.sleep(0.1)  # the tier has refused it by now; the rest is still to come
            try:
                s.sendall(payload[256 * 1024:])
            except OSError:
                pass  # the tier may stop reading after a while: the error must still be there
            reply = b""
            try:
                while chunk := s.recv(65536):
                    reply += chunk
            except ConnectionResetError:
                pytest.fail(f"the connection was reset after {len(reply)} bytes of the reply")
        events = []
        while reply:
            line, _, reply = reply.partition(b"\n")
            got = json.loads(line)
            n = got.get("data_length") or 0
            events.append((got["type"], json.loads(reply[:n]) if n else {}))
            reply = reply[n + (got.get("payload_length") or 0):]
        assert events[-1][0] == "error" and events[-1][1]["code"] == "chunk-too-large", events
    wait_idle(tier)


def test_a_client_that_vanishes_mid_utterance_frees_its_slot(tier):
    audio = read_audio(corpus(AUSTEN_0880))

    async def vanish():
        async with client(tier) as c:
            await c.write_event(AudioStart(**FMT).event())
            await c.write_event(AudioChunk(audio=to_bytes(audio[:16000]), **FMT).event())
            await asyncio.sleep(0.3)
            assert active_streams(tier) == 1
        # the with block closed the socket without audio-stop

    asyncio.run(vanish())
    wait_idle(tier)
    assert re.search(r'proxima_cancelled_streams_total\{how="disconnect",tier="regional"\} [1-9]', metrics(tier))


def test_an_idle_utterance_times_out_with_an_error(tier):
    async def idle():
        async with client(tier) as c:
            await c.write_event(AudioStart(**FMT).event())
            t0 = time.monotonic()
            got = await events_until_close(c)
            return got, time.monotonic() - t0

    got, took = asyncio.run(idle())
    assert got[-1].type == "error" and Error.from_event(got[-1]).code == "idle-timeout"
    assert IDLE_S <= took < IDLE_S + 2
    wait_idle(tier)


def test_wyoming_streams_count_against_max_streams_with_grpc(tier):
    async def hold_two_then_try():
        async with client(tier) as a, client(tier) as b, client(tier) as c:
            for held in (a, b):
                await held.write_event(AudioStart(**FMT).event())
                await held.write_event(AudioChunk(audio=b"\0\0" * 1024, **FMT).event())
            await c.write_event(AudioStart(**FMT).event())
            third = await events_until_close(c)
            with grpc.insecure_channel(tier.address) as ch:
                config = pb.ConverseRequest(config=stream_config("u-full", "alexa", "en", "t", "", ""))
                with pytest.raises(grpc.RpcError) as refused:
                    list(pb_grpc.AssistantStub(ch).Converse(iter([config]), timeout=10))
            return third, refused.value.code()

    third, code = asyncio.run(hold_two_then_try())
    assert Error.from_event(third[-1]).code == "busy" and "--max-streams" in Error.from_event(third[-1]).text
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    wait_idle(tier)
    text = metrics(tier)
    assert re.search(r'proxima_errors_total\{code="wyoming:busy",tier="regional"\} [1-9]', text)
    assert re.search(r'proxima_rejections_total\{tier="regional"\} [2-9]', text), "both refusals counted"


def test_metrics_and_span_name_the_protocol(tier):
    asyncio.run(stream(tier, read_audio(corpus(LIVING_ROOM)), realtime=False, stop=True))
    assert re.search(r'proxima_streams_total\{protocol="wyoming",tier="regional"\} [1-9]', metrics(tier))
    time.sleep(0.3)
    spans = [json.loads(line) for line in tier.trace.read_text().splitlines()]
    asr = [s for s in spans if s["name"] == "regional.asr" and s["attributes"].get("proxima.protocol") == "wyoming"]
    assert asr and asr[-1]["attributes"]["proxima.endpoint"] in ("audio_stop", "speech_end")
    assert asr[-1]["attributes"]["proxima.utterance_id"].startswith("wy-")
    logged = [line for line in tier.output if asr[-1]["attributes"]["proxima.utterance_id"] in line]
    assert logged and "protocol=wyoming" in logged[0] and "living" not in logged[0].lower()


def serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxima", "serve", "--port", "0", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)


def assert_one_line(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert all(p in lines[0] for p in phrases), lines[0]


def test_wyoming_off_loopback_is_refused_without_insecure(tmp_path):
    subprocess.run([sys.executable, "-m", "proxima", "certs", str(tmp_path)], check=True, cwd=REPO_ROOT,
                   capture_output=True)
    # gRPC has TLS here, so only the Wyoming port (no TLS, no tokens) is refused.
    assert_one_line(serve("--host", "0.0.0.0", "--tls-cert", str(tmp_path / "server.pem"),
                          "--tls-key", str(tmp_path / "server.key"), "--wyoming-port", "0"),
                    "Wyoming has neither TLS nor authentication", "--insecure")


def test_wyoming_port_in_use_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert_one_line(serve("--wyoming-port", str(port)), f"cannot listen for Wyoming on 127.0.0.1:{port}",
                        "--wyoming-port")


def test_sigterm_drains_an_utterance_in_flight(tier):
    """Last: it stops the module's tier."""
    audio = read_audio(corpus(AUSTEN_0880))

    async def drain():
        async with client(tier) as c:
            await c.write_event(AudioStart(**FMT).event())
            await c.write_event(AudioChunk(audio=to_bytes(audio[:32000]), **FMT).event())
            await asyncio.sleep(0.2)
            tier.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            await c.write_event(AudioChunk(audio=to_bytes(audio[32000:]), **FMT).event())
            await c.write_event(AudioStop().event())
            return await events_until_close(c)

    got = asyncio.run(drain())
    assert [e.type for e in got][-2:] == ["transcript", "transcript-stop"]
    assert "young man" in Transcript.from_event(got[-2]).text.lower()
    assert tier.proc.wait(15) == 0
