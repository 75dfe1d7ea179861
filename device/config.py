"""The device's one typed configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from common.endpointing import HANGOVER_MS, MAX_UTTERANCE_MS, SPEECH_THRESHOLD
from common.security import TlsFiles


WAKE_WORDS = ("alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy")
"""The bundled models that are wake words, loaded by default. openWakeWord's other two,
``timer`` and ``weather``, detect commands ("set a 5 minute timer", "what's the weather"):
as wake words they open an utterance at a phrase said in conversation and cut the
command's own words off the transcript, so they load only when named."""


@dataclass(frozen=True)
class WakeConfig:
    """Wake word detection (openWakeWord)."""

    models: tuple[str, ...] = WAKE_WORDS
    """Bundled model names (``timer`` and ``weather`` too) or ``.onnx`` paths; empty: ``WAKE_WORDS``."""
    threshold: float = 0.5
    """Score that fires a detection (openWakeWord's documented default), 0..1."""
    thresholds: Mapping[str, float] = field(default_factory=dict)
    """Per-model thresholds, overriding ``threshold``, e.g. ``{"alexa": 0.6}``."""
    vad_threshold: float = 0.3
    """Silero VAD probability the audio 0.4-0.56 s before a frame must reach for
    its scores to count (openWakeWord's VAD gate); 0 turns the gate off. On the
    21 corpus alexa clips 0.5 also lost 174.flac; 0.3 recalls 20 (15.flac peaks at
    0.015 even ungated: a model miss) and white noise still fires nothing."""
    refractory_ms: float = 2000.0
    """After a detection, no model fires for this long, ms."""


@dataclass(frozen=True)
class FrontEndConfig:
    """Echo cancellation (``device/aec.py``), noise suppression and automatic gain of the audio
    front end (webrtc-noise-gain, ``device/cleanup.py``); suppression and gain both 0 leaves the
    audio untouched (no processor runs), as does echo cancellation between replies."""

    noise_suppression: int = 0
    """WebRTC noise suppression level, 0 (off) .. 4 (strongest). Off by default: on the full
    ``bench noise`` (18 speech clips, 5 of them commands, 40 wake words, 20 corpus noises; SNR
    over active speech) it lowered clean WER (0.085 -> 0.042 at ns1) but at 5 dB raised it
    (0.134 off, 0.19-0.23 on) and lost wake words (recall 0.75 off, 0.725 on)."""
    auto_gain_dbfs: int = 0
    """WebRTC automatic gain, 1..31 dB below full scale as wyoming-satellite's
    ``--mic-auto-gain``; 0: off. webrtc-noise-gain 1.3.0 passes the target to AGC1 but the
    adaptive digital AGC2 it also enables does the work: every value 1..31 gives the same audio."""

    echo_cancellation: bool = True
    """While a reply plays on a speaker, remove it from the microphone (WebRTC AEC3 through
    livekit, ``device/aec.py``) before suppression, gain, the wake word and VAD, the played
    samples being the reference. On by default: in the stand-in room (60 ms delay, 150 ms
    reverberation) a user saying the wake word the reply itself says barged in 19/20 at -12 dB
    of echo and 17/20 at -6 dB with it, 0/10 without it (the echo guard drops those), for about
    0.5 ms of CPU per 80 ms frame while a reply plays and nothing otherwise (README,
    "Echo cancellation"). No speaker: nothing to cancel."""

    @property
    def enabled(self) -> bool:
        """True when suppression or gain is on (echo cancellation runs on its own: ``echo_cancellation``)."""
        return bool(self.noise_suppression or self.auto_gain_dbfs)


@dataclass(frozen=True)
class EndpointConfig:
    """End-of-speech detection (Silero VAD)."""

    speech_threshold: float = SPEECH_THRESHOLD
    """VAD probability at or above which a frame is speech (Silero's default)."""
    hangover_ms: float = HANGOVER_MS
    """With "fixed" endpointing: silence after speech that ends the utterance, ms."""
    no_speech_timeout_ms: float = 3000.0
    """Wake word then this long without speech: the utterance ends with route none, ms."""
    max_utterance_ms: float = MAX_UTTERANCE_MS
    """Longest utterance; the audio so far is processed, not dropped, ms."""
    semantic: bool = True
    """Semantic endpointing: when the transcript at a pause is a complete,
    confident local command, end the utterance without waiting out the hangover
    (with "smart" endpointing, only when Smart Turn also hears a complete turn).
    bench local: speech end -> reply 245 ms p50 against 645 ms with the fixed hangover."""
    endpointing: str = "smart"
    """"smart": at a ``turn_pause_ms`` pause Smart Turn v3.2 judges whether the turn
    is complete (``device/turn.py``) unless the early transcript plainly goes on; if
    not complete, silence ends it after ``turn_fallback_ms``. "fixed": the utterance
    ends after ``hangover_ms`` of silence. On bench endpoint (22 clips, 2026-12-02)
    smart ended turns 268 ms after speech (p50) against the fixed 640 ms hangover's
    572 ms, cutting the same one clip early (jfk.flac, whose 1.1 s pause follows
    "And so my fellow Americans", which Smart Turn scores 0.95 complete). With a tier
    streaming, a complete turn whose words the tier's provisional result did not
    understand is held to ``turn_fallback_ms`` (``device/endpoint.py``): jfk.flac is heard whole."""
    turn_pause_ms: float = 300.0
    """VAD pause at which Smart Turn is asked, ms. Pipecat asks at 0.2 s; on bench
    endpoint (22 clips) 200 ms cut 5 clips early, 300 and 400 ms the same 1 as the
    fixed hangover (speech end -> endpoint p50 268 and 340 ms)."""
    turn_threshold: float = 0.5
    """Smart Turn probability at or above which the turn is complete (the model's own cut, 0.5)."""
    turn_fallback_ms: float = 1500.0
    """In "smart" mode, the silence that ends a turn the model judged incomplete, ms
    (longer than the 1.1 s pauses of a speaker reading a sentence)."""
    turn_model: str | None = None
    """Smart Turn ONNX file; None: the one set-up installed."""


@dataclass(frozen=True)
class UplinkConfig:
    """Where and how long to ask the remote tiers."""

    regional: tuple[str, ...] = ()
    """The regional endpoints: each utterance starts at the next one
    (round-robin) and fails over through the rest before the cloud. Each is a
    ``host:port``, or a load-balanced target for many replicas behind one
    endpoint: ``dns:///HOST:PORT`` (e.g. a Kubernetes headless Service) or
    ``ipv4:A:PORT,B:PORT,..`` (see ``common.targets``)."""
    cloud: str | None = None
    """``host:port`` (or a load-balanced target) of the cloud tier."""
    load_balancing: str = "round_robin"
    """gRPC load-balancing policy of a load-balanced target's channel:
    ``round_robin`` sends each new stream to the next ready replica."""
    balanced_attempts: int = 2
    """Streams tried on one load-balanced target before the next tier, when a
    replica fails fast (UNAVAILABLE, e.g. killed, or RESOURCE_EXHAUSTED): the
    channel gives the retry another replica. A missed result deadline moves on
    at once. A plain ``host:port`` is tried once."""
    connect_timeout_s: float = 1.0
    """A tier whose connection is not ready this long after the stream should
    open is abandoned for the next (a frozen server accepts TCP but never
    answers HTTP/2), s."""
    regional_deadline_s: float = 3.0
    """Each regional endpoint's share of the latency budget: its final result
    must come this long after end of audio (or after it got the utterance), s."""
    cloud_deadline_s: float = 6.0
    """The cloud tier's share of the budget, s."""
    tls: TlsFiles | None = None
    """TLS to every tier: ``tls.ca`` checks the tier's certificate; ``cert``/``key`` present a client one."""
    token: str | None = None
    """This device's bearer token, sent on every call."""
    insecure: bool = False
    """Allow plaintext to a non-loopback tier."""
    call_timeout_s: float = 30.0
    """gRPC deadline of one stream: the longest utterance (15 s) plus the deadlines and margin, s."""
    codec: str = "pcm16"
    """Uplink audio encoding (``common.codec``): "pcm16" (LINEAR16, 256 kbit/s) or
    "opus" (Opus through libopus, about 32 kbit/s)."""
    hedge: bool = True
    """Start the next tier at once when the current one stalls or is late
    (``device.hedge``); the first final wins. False: only the deadlines fail over."""
    progress_interval_ms: int = 250
    """How often the device asks a tier to acknowledge the audio it took in, ms (0: never ask)."""
    provisional: bool = True
    """Ask the tiers for a provisional result at each SPEECH_END hint (the answer to the audio so
    far, carried out by nobody), so the reply is synthesized while the end of turn is decided;
    a tier that sends none (an older one) is simply waited for."""
    stall_floor_s: float = 0.6
    """Audio unacknowledged this long marks a tier that sends progress stalled,
    at the least (more on a long round trip: see ``stall_rtts``), s."""
    stall_rtts: float = 4.0
    """Stall bound over the floor: the progress interval plus this many round trips."""
    hedge_floor_s: float = 0.5
    """After end of audio the next tier is started once no final came for this long at the least, s."""
    hedge_prior_s: float = 1.0
    """The floor instead, while the device has seen fewer than ``device.hedge.HISTORY_MIN``
    finals from the tier (it knows nothing of its speed yet; on a starved 2-core machine a
    healthy tier took over 0.5 s), s."""
    hedge_due_slack_s: float = 0.3
    """A tier that says when its final is due (``Progress.final_due_ms``) is late this long
    after that, s: the floor and the prior in place of ``hedge_floor_s`` and ``hedge_prior_s``
    (the tier knows its own speed and load; this covers its estimate's error, the reply's
    NLU and skill, the round trip and a loaded event loop)."""
    hedge_due_factor: float = 1.5
    """The decode a tier says is still to run (``Progress.final_due_ms``) counts this many
    times over in its hedge deadline: its estimate is of a decode under the load it has
    now, and a spike can stretch it. A decode already done (the usual case once the early
    decode of a SPEECH_END hint ran during the pause) is 0 however stretched."""
    latency_first: bool = True
    """A stream that starts after end of audio (a hedge, or a failover then) asks its tier
    for the fastest decode (``StreamConfig.latency_first``: greedy, not the cloud's beam 5):
    that tier decodes the whole utterance while the user waits. False: its own decoding."""
    hedge_margin_s: float = 0.25
    """Added to a tier's recent p95 from end of audio to final for its hedge deadline, s."""
    hedge_rtf: float = 0.25
    """Expected decode time per second of audio, for what a tier's decode should still take
    at end of audio; added to its hedge deadline, so a decode still running is not late. A
    real-time factor: Whisper base measures 0.09 idle on ``bench asr`` and about 0.16 on a
    loaded 2-core machine, where 0.15 hedged healthy fast replays."""


@dataclass(frozen=True)
class DeviceConfig:
    """Everything the device needs, in one object."""

    wake: WakeConfig = field(default_factory=WakeConfig)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    uplink: UplinkConfig = field(default_factory=UplinkConfig)
    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)
    """Noise suppression and gain before the wake word (off by default: ``bench noise``)."""
    policy: str = "parallel"
    """"parallel", "local-first", "remote-only" or "local-only" (docs/architecture.md)."""
    local_model: str = "tiny.en"
    """On-device Whisper: packaged name, directory or faster-whisper name."""
    local_min_confidence: float = 0.6
    """A local intent acts only at or above this ASR confidence (0..1)."""
    language: str = "en"
    device_id: str = "proxima-demo"
    area: str = ""
    """Room the device stands in, sent to the tiers."""
    time_zone: str = ""
    """IANA time zone; empty: the machine's."""
    echo_tail_ms: float = 300.0
    """After a spoken reply ends, wake detections are still judged against it for this
    long (the room's echo and the output's latency), ms."""


POLICIES = ("parallel", "local-first", "remote-only", "local-only")
"""Routing policies (``DeviceConfig.policy``)."""
ENDPOINTINGS = ("smart", "fixed")
"""End-of-turn modes (``EndpointConfig.endpointing``)."""
