"""The device pipeline: frames in, one result per utterance out.

source -> cleanup -> wake -> endpoint -> router -> (local | uplink) -> reply
"""

from __future__ import annotations

from functools import partial
from typing import IO, Callable, Iterable, Iterator

from device.aec import EchoCanceller
from device.cleanup import NoiseGain
from device.config import DeviceConfig
from device.endpoint import Endpointer
from device.echo import EchoGuard
from device.events import AudioFrame, UtteranceResult
from device.local import LocalPath
from device.router import Router, Utterance
from device.skills import LocalSkills, print_ring
from device.speech import ReplyVoice
from device.uplink import Uplink
from device.wake import WakeWordDetector
from common.tracing import StreamClock, make_provider

class Pipeline:
    """Loads every model once; :meth:`run` then processes any number of streams.

    Args:
        cfg: the device configuration.
        trace_file: append each finished span as a JSON line here.
        otlp_endpoint: also export spans over OTLP/gRPC to this collector
            (``HOST:PORT``; see :func:`common.tracing.make_provider` for ``OTEL_*``).

    Raises:
        common.models.ModelError: a model cannot be loaded.
        common.tracing.TracingError: the tracing configuration cannot be used.

    ``voice``: speak each reply (Piper), on a speaker and/or into WAV files;
    None: text only. While a reply plays, wake detections go through the
    :class:`device.echo.EchoGuard` (no self-wake; a user's wake word barges in).
    """

    def __init__(self, cfg: DeviceConfig, trace_file: IO[str] | None = None, otlp_endpoint: str | None = None,
                 voice: ReplyVoice | None = None) -> None:
        self.cfg = cfg
        self.clock = StreamClock()
        self._provider, collector = make_provider("proxima-device", trace_file, otlp_endpoint)
        tracer = self._provider.get_tracer("proxima.device")
        self.wake = WakeWordDetector(cfg.wake)
        self.endpointer = Endpointer(cfg.endpoint)
        local = LocalPath(cfg.local_model, cfg.language) if cfg.policy != "remote-only" else None
        remote_configured = bool(cfg.uplink.regional or cfg.uplink.cloud)
        self.uplink = Uplink(cfg.uplink, self.clock, tracer) if cfg.policy != "local-only" and remote_configured else None
        self.skills = LocalSkills(cfg.time_zone)
        self.router = Router(cfg, local, self.skills, self.uplink, tracer, collector, self.clock,
                             voice.synthesizer if voice is not None else None)
        self._state = "idle"
        self.open_utterance: Utterance | None = None
        """The utterance being heard (for the live view); None between utterances."""
        self.voice = voice
        self.echo = None
        self.aec: EchoCanceller | None = None
        """Removes the reply from the microphone while it plays (a speaker and ``frontend.echo_cancellation``)."""
        if voice is not None:
            if voice.speaker is not None and voice.speaker.available:
                if cfg.frontend.echo_cancellation:
                    self.aec = EchoCanceller()
                    voice.speaker.monitor = self.aec.far_end
                self.echo = EchoGuard(cfg.wake, voice.speaker, self.wake, self.aec, cfg.echo_tail_ms / 1000.0)
                self.skills.on_ring = self._ring

    def run(self, frames: Iterable[AudioFrame],
            on_frame: Callable[[AudioFrame], None] | None = None) -> Iterator[UtteranceResult]:
        """Process a stream of frames; yields each utterance's result as it is answered.

        Each call is a new stream (its times start again at 0), so the wake
        detector starts from its deterministic silent state.
        """
        self.wake.reset()
        self.clock.restart()
        utt: Utterance | None = None
        last_end = 0.0
        if self.aec is not None:
            frames = self.aec.frames(frames)
        for frame in NoiseGain(self.cfg.frontend).frames(frames):
            self.clock.tick(frame.end_ms)
            last_end = frame.end_ms
            detection = self.wake.process(frame)
            if self.echo is not None:
                detection = self.echo.judge(detection) or self.echo.judge_raw(
                    self.aec.raw if self.aec is not None else None)
            if on_frame is not None:
                on_frame(frame)
            if utt is None:
                if detection is not None:
                    utt = self.open_utterance = self.router.begin(detection)
                    self.endpointer.start(detection.end_ms)
                    self._state = "listening"
                continue
            self.router.add_audio(utt, frame.samples)
            endpoint = self.endpointer.process(frame, partial(self.router.early, utt))
            if endpoint is None and self.endpointer.paused:
                self.router.speculate(utt)
            elif endpoint is None:
                self.router.discard_speculation(utt)
            if endpoint is not None:
                self._state = "thinking"
                yield self._deliver(self.router.finish(utt, endpoint))
                utt = None
        if utt is not None:
            self._state = "thinking"
            yield self._deliver(self.router.finish(utt, self.endpointer.finish(last_end)))

    @property
    def state(self) -> str:
        """"idle" (waiting for a wake word), "listening", "thinking" or "speaking"."""
        if self._state == "idle" and self.voice is not None and self.voice.speaking:
            return "speaking"
        return self._state

    def _deliver(self, result: UtteranceResult) -> UtteranceResult:
        """Speak the reply (and write it) before the caller prints it."""
        self._state, self.open_utterance = "idle", None
        if self.voice is not None and result.speech is not None:
            if self.echo is not None:
                self.echo.expect(result.speech)
            self.voice.deliver(result.utterance_id, result.speech)
        return result

    def _ring(self, message: str) -> None:
        """A timer ran out (on its thread): print it, and say it after the reply that is playing."""
        print_ring(message)
        self.voice.speaker.wait(30.0)
        speech = self.voice.synthesizer.stream(message)
        self.echo.expect(speech)
        self.voice.speaker.play(speech)

    def close(self) -> None:
        """Close the uplink and flush every exporter (OTLP sends its last batch)."""
        if self.voice is not None and self.voice.speaker is not None:
            self.voice.speaker.wait(30.0)  # let the last reply finish
        if self.uplink is not None:
            self.uplink.close()
        self._provider.shutdown()
