"""The device pipeline: frames in, one result per utterance out.

source -> wake -> endpoint -> router -> (local | uplink) -> reply
"""

from __future__ import annotations

from typing import IO, Callable, Iterable, Iterator

from device.config import DeviceConfig
from device.endpoint import Endpointer
from device.events import AudioFrame, Endpoint, UtteranceResult
from device.local import LocalPath
from device.router import Router, Utterance
from device.skills import LocalSkills
from device.uplink import Uplink
from device.wake import WakeWordDetector
from proxima.tracing import StreamClock, make_provider

class Pipeline:
    """Loads every model once; :meth:`run` then processes any number of streams.

    Args:
        cfg: the device configuration.
        trace_file: append each finished span as a JSON line here.

    Raises:
        proxima.models.ModelError: a model cannot be loaded.
    """

    def __init__(self, cfg: DeviceConfig, trace_file: IO[str] | None = None) -> None:
        self.cfg = cfg
        self.clock = StreamClock()
        self._provider, collector = make_provider("proxima-device", trace_file)
        tracer = self._provider.get_tracer("proxima.device")
        self.wake = WakeWordDetector(cfg.wake)
        self.endpointer = Endpointer(cfg.endpoint)
        local = LocalPath(cfg.local_model, cfg.language) if cfg.policy != "remote-only" else None
        remote_configured = bool(cfg.uplink.regional or cfg.uplink.cloud)
        self.uplink = Uplink(cfg.uplink, self.clock, tracer) if cfg.policy != "local-only" and remote_configured else None
        self.skills = LocalSkills(cfg.time_zone)
        self.router = Router(cfg, local, self.skills, self.uplink, tracer, collector, self.clock)
        self.state = "idle"
        """"idle" (waiting for a wake word), "listening" or "thinking"."""

    def run(self, frames: Iterable[AudioFrame],
            on_frame: Callable[[AudioFrame], None] | None = None) -> Iterator[UtteranceResult]:
        """Process a stream of frames; yields each utterance's result as it is answered.

        Each call is a new stream (its times start again at 0), so the wake
        detector starts from its deterministic silent state.
        """
        self.wake.reset()
        utt: Utterance | None = None
        last_end = 0.0
        for frame in frames:
            self.clock.tick(frame.end_ms)
            last_end = frame.end_ms
            detection = self.wake.process(frame)
            if on_frame is not None:
                on_frame(frame)
            if utt is None:
                if detection is not None:
                    utt = self.router.begin(detection)
                    self.endpointer.start(detection.end_ms)
                    self.state = "listening"
                continue
            self.router.add_audio(utt, frame.samples)
            endpoint = self.endpointer.process(frame)
            if endpoint is None and self.endpointer.paused:
                self.router.speculate(utt)
                if self.cfg.endpoint.semantic and self.router.confident_early(utt):
                    endpoint = Endpoint("semantic", self.endpointer.speech_end_ms, frame.end_ms)
            elif endpoint is None:
                self.router.discard_speculation(utt)
            if endpoint is not None:
                self.state = "thinking"
                yield self.router.finish(utt, endpoint)
                utt, self.state = None, "idle"
        if utt is not None:
            yield self.router.finish(utt, self.endpointer.finish(last_end))
            self.state = "idle"

    def close(self) -> None:
        if self.uplink is not None:
            self.uplink.close()
        self._provider.shutdown()
