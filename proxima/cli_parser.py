"""The ``proxima`` command line's arguments: value types and the parser (DESIGN.md's commands).

Each type turns a bad value into one line naming it and what to give instead;
the parser exits with status 2 and that line, never a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_BAD_INPUT = 2
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


def _address(text: str) -> str:
    """argparse type: ``HOST:PORT`` with a port in 1..65535, or a load-balanced
    target (``dns:///HOST:PORT``, ``ipv4:A:PORT,B:PORT``; see proxima.targets)."""
    from proxima.targets import TargetError, parse

    try:
        parse(text)
    except TargetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _port(text: str) -> int:
    """argparse type: a TCP port in 0..65535 (0 picks a free one)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port in 0..65535")
    return int(text)


def _threshold(text: str) -> tuple[str | None, float]:
    """argparse type: ``T`` or ``MODEL=T``, a wake score in (0, 1]."""
    name, _, value = text.rpartition("=")
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0.0 < score <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a score in (0, 1] (or MODEL=score)")
    return name or None, score


def _millis(text: str) -> float:
    """argparse type: a duration from one 80 ms frame to 10 minutes, in ms."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 80.0 <= value <= 600_000.0:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds from 80 (one frame) to 600000")
    return value


def _count(text: str) -> int:
    """argparse type: a whole number from 1 to 1000."""
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 1000")
    return int(text)


def _ranged_int(low: int, high: int, what: str):
    """argparse type: a whole number in low..high (``what`` names it in the error)."""
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} (a whole number {low}..{high})")
        return int(text)
    return parse


def _seconds(text: str) -> float:
    """argparse type: a duration from 0.1 s to 1 hour, in s."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0.1 to 3600")
    return value


def _voice(text: str) -> str:
    """argparse type: a Piper ``.onnx`` voice with its ``.onnx.json`` beside it."""
    path = Path(text)
    if path.suffix != ".onnx" or not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a Piper voice file (.onnx)")
    if not Path(text + ".json").is_file():
        raise argparse.ArgumentTypeError(f"{text!r} has no {path.name}.json beside it (Piper's voice config)")
    return text


def _input_device(text: str) -> int | str:
    """argparse type: an input device index, or (part of) its name."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an input device is an index or (part of) a name, see 'proxima devices'")
    return int(text) if text.isdigit() else text


def _otlp(text: str) -> str:
    """argparse type: an OTLP/gRPC collector, ``HOST:PORT`` or ``http(s)://HOST:PORT``."""
    from proxima.tracing import TracingError, otlp_url

    try:
        return otlp_url(text)
    except TracingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rtt(text: str) -> str:
    """argparse type: ``TIER=MS``, a simulated round trip (proxima.netsim)."""
    from proxima.netsim import DistanceError, parse_rtt

    try:
        parse_rtt([text])
    except DistanceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def parser() -> argparse.ArgumentParser:
    """Every ``proxima`` command and its options."""
    p = _Parser(prog="proxima", description="Proxima hybrid voice assistant")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def device_options(sp: argparse.ArgumentParser) -> None:
        from device.config import EndpointConfig, FrontEndConfig

        sp.add_argument("--policy", default="parallel", choices=["parallel", "local-first", "remote-only", "local-only"])
        sp.add_argument("--json", action="store_true", help="one JSON object per utterance")
        sp.add_argument("--fast", action="store_true", help="play files as fast as the pipeline takes them")
        sp.add_argument("--trace-file", help="append every span as a JSON line to this file")
        sp.add_argument("--otlp-endpoint", type=_otlp, metavar="HOST:PORT",
                        help="also export spans over OTLP/gRPC to this collector (see docs/tracing.md for OTEL_*)")
        sp.add_argument("--wake-threshold", type=_threshold, action="append", default=[], metavar="[MODEL=]T",
                        help="wake score that fires, in (0, 1]: for all models, or MODEL=T for one (repeatable)")
        sp.add_argument("--wake-model", action="append", default=[], metavar="NAME_OR_ONNX",
                        help="wake model: a bundled name (timer, weather too) or a custom .onnx path "
                             "(repeatable; default: alexa, hey_jarvis, hey_mycroft, hey_rhasspy)")
        sp.add_argument("--noise-suppression", type=_ranged_int(0, 4, "a noise suppression level"),
                        default=FrontEndConfig.noise_suppression, metavar="0..4",
                        help="WebRTC noise suppression of the microphone or files, 0 (off) to 4 (strongest)")
        sp.add_argument("--auto-gain", type=_ranged_int(0, 31, "an auto gain target in dBFS"),
                        default=FrontEndConfig.auto_gain_dbfs, metavar="DBFS",
                        help="WebRTC automatic gain, 1..31 dB below full scale as wyoming-satellite's "
                             "--mic-auto-gain (0: off; webrtc-noise-gain 1.3.0 gives every value the same gain)")
        sp.add_argument("--echo-cancellation", action=argparse.BooleanOptionalAction,
                        default=FrontEndConfig.echo_cancellation,
                        help="while a reply plays on the speaker, remove it from the microphone (WebRTC AEC3) "
                             "so that a user saying a word the reply contains still barges in")
        sp.add_argument("--hangover-ms", type=_millis, default=EndpointConfig.hangover_ms,
                        help="with --endpointing fixed: silence that ends an utterance (ms)")
        sp.add_argument("--no-speech-timeout-ms", type=_millis, default=3000.0,
                        help="wake word then this much silence ends the utterance (ms)")
        sp.add_argument("--max-utterance-ms", type=_millis, default=15000.0, help="longest utterance (ms)")
        sp.add_argument("--semantic-endpoint", action=argparse.BooleanOptionalAction, default=EndpointConfig.semantic,
                        help="end at a pause when the words so far are a confident device command "
                             "(with smart endpointing: when Smart Turn agrees)")
        sp.add_argument("--endpointing", default=EndpointConfig.endpointing, choices=["fixed", "smart"],
                        help="end of turn: smart (Smart Turn v3.2 at a --turn-pause-ms pause, unless the words so far "
                             "go on; --turn-fallback-ms of silence when the turn is judged incomplete) or fixed "
                             "(silence of --hangover-ms)")
        sp.add_argument("--turn-pause-ms", type=_millis, default=EndpointConfig.turn_pause_ms,
                        help="with smart endpointing: the pause at which Smart Turn is asked (ms)")
        sp.add_argument("--turn-fallback-ms", type=_millis, default=EndpointConfig.turn_fallback_ms,
                        help="with smart endpointing: the silence that ends a turn judged incomplete (ms)")
        sp.add_argument("--turn-model", metavar="FILE", help="Smart Turn ONNX file (default: the one set-up installed)")
        sp.add_argument("--local-model", default="tiny.en", help="on-device Whisper: tiny.en, a directory or a name")
        sp.add_argument("--codec", default="pcm16", choices=["pcm16", "opus"],
                        help="uplink audio: pcm16 (LINEAR16, 256 kbit/s) or opus (about 32 kbit/s)")
        sp.add_argument("--input-device", type=_input_device, metavar="INDEX_OR_NAME",
                        help="microphone: a device index or (part of) its name, see 'proxima devices' (default: the system's)")
        sp.add_argument("--mute", action="store_true", help="do not speak replies (they are still printed)")
        sp.add_argument("--reply-dir", type=Path, metavar="DIR",
                        help="write each spoken reply as a WAV at the voice's own rate into DIR")
        sp.add_argument("--voice", type=_voice, metavar="ONNX", help="Piper voice (.onnx, its .onnx.json beside it; default: joe)")
        sp.add_argument("--output-device", type=_input_device, metavar="INDEX_OR_NAME",
                        help="speaker for replies: a device index or (part of) its name (default: the system's)")
        sp.add_argument("--home", type=Path, metavar="FILE",
                        help="the home (YAML: floors, areas, entities; docs/home.md) the device acts on; "
                             "default: the simulated demo home")
        sp.add_argument("--keep-going", action="store_true",
                        help="report and skip a bad audio file (a truncated one plays what it holds); exit status 2 at the end")

    d = sub.add_parser("device", help="run the device on the microphone or on audio files")
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("--mic", action="store_true", help="listen on the default microphone")
    src.add_argument("--wav", nargs="+", metavar="F", help="audio files, played back to back as one stream")
    d.add_argument("--regional", nargs="+", default=[], type=_address, metavar="HOST:PORT",
                   help="regional endpoint(s), tried in order before the cloud; dns:///HOST:PORT or "
                        "ipv4:A:PORT,B:PORT balances streams over the replicas behind one endpoint")
    d.add_argument("--cloud", type=_address, metavar="HOST:PORT", help="cloud tier address")
    d.add_argument("--tls-ca", type=Path, help="CA certificate that signed the tiers' certificates (enables TLS)")
    d.add_argument("--tls-cert", type=Path, help="client certificate, for tiers that require mutual TLS")
    d.add_argument("--tls-key", type=Path, help="client private key")
    token = d.add_mutually_exclusive_group()
    token.add_argument("--token", help="this device's bearer token (shown by ps: prefer --token-file or "
                                       "the PROXIMA_TOKEN environment variable, used when neither option is given)")
    token.add_argument("--token-file", type=Path, metavar="PATH",
                       help="read this device's bearer token from PATH: its first line that is not blank or a # comment")
    d.add_argument("--insecure", action="store_true", help="allow plaintext to non-loopback tiers")
    device_options(d)

    s = sub.add_parser("serve", help="serve the regional or cloud tier over gRPC")
    s.add_argument("--tier", choices=["regional", "cloud"], default="regional")
    s.add_argument("--port", type=_port, required=True, help="TCP port (0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--model", help="Whisper model: base (packaged), a directory or a faster-whisper name")
    s.add_argument("--trace-file", help="append every span as a JSON line to this file")
    s.add_argument("--otlp-endpoint", type=_otlp, metavar="HOST:PORT",
                   help="also export spans over OTLP/gRPC to this collector (see docs/tracing.md for OTEL_*)")
    s.add_argument("--tls-cert", type=Path, help="server certificate (enables TLS)")
    s.add_argument("--tls-key", type=Path, help="server private key")
    s.add_argument("--tls-client-ca", type=Path, help="require client certificates signed by this CA (mutual TLS)")
    s.add_argument("--token", action="append", default=[],
                   help="accept this bearer token (repeatable; shown by ps: prefer --token-file or PROXIMA_TOKENS). "
                        "--token, --token-file and PROXIMA_TOKENS (comma-separated) add up; none at all: no check")
    s.add_argument("--token-file", type=Path, metavar="PATH",
                   help="also accept the tokens in PATH, one a line (blank lines and # comments are skipped)")
    s.add_argument("--insecure", action="store_true", help="allow plaintext on a non-loopback host")
    s.add_argument("--max-streams", type=_count, default=8, help="streams served at once; more get RESOURCE_EXHAUSTED")
    s.add_argument("--metrics-port", type=_port, help="serve Prometheus metrics on this port (0 picks one)")
    s.add_argument("--wyoming-port", type=_port, metavar="N",
                   help="also serve speech-to-text over the Wyoming protocol (Home Assistant) on this TCP port, "
                        "10300 by convention (0 picks one); no TLS or tokens: loopback unless --insecure")
    s.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="INFO logs one line per utterance (no words); DEBUG adds the transcript")
    s.add_argument("--idle-timeout-s", type=_seconds, default=10.0, help="end a stream silent this long (s)")
    s.add_argument("--home", type=Path, metavar="FILE",
                   help="this tier's own copy of the home (YAML, docs/home.md); default: the demo home")
    s.add_argument("--fault", metavar="KIND",
                   help="fault injection for tests: never-reply, stop-reading=S or delay-ms=N")

    m = sub.add_parser("demo", help="start both tiers on loopback and run the device")
    m.add_argument("--wav", nargs="+", metavar="F", help="audio files instead of the microphone or samples/")
    m.add_argument("--simulate-distance", action="store_true",
                   help="put each tier a round trip away (regional 15 ms, cloud 120 ms) with a loopback delay proxy")
    m.add_argument("--rtt-ms", type=_rtt, action="append", default=[], metavar="TIER=MS",
                   help="round trip to regional or cloud with --simulate-distance, ms (repeatable; implies it)")
    m.add_argument("--tier-down", action="append", default=[], choices=["regional", "cloud"],
                   help="start this tier unreachable, to show the fallback (repeatable)")
    device_options(m)

    sub.add_parser("devices", help="list the audio input and output devices with their default rates")

    t = sub.add_parser("trace", help="waterfall per utterance and p50/p95 per span from --trace-file files")
    t.add_argument("files", nargs="+", metavar="FILE", help="trace files (the device's and the tiers' together)")
    t.add_argument("--json", action="store_true", help="print the report as one JSON object")

    c = sub.add_parser("certs", help="make a development CA, server and client certificates")
    c.add_argument("dir", type=Path)

    b = sub.add_parser("bench", help="benchmarks on the real corpus")
    from proxima.bench import KINDS

    b.add_argument("kind", choices=list(KINDS))
    b.add_argument("--json", action="store_true", help="print the report as one JSON object")
    b.add_argument("--corpus", type=Path, help="the shared corpus (default: ../shared/corpus)")
    b.add_argument("--out", type=Path, default=Path("bench_out"), help="directory for plots (default: bench_out)")
    b.add_argument("--fast", action="store_true", help="replay as fast as possible instead of in real time")
    b.add_argument("--streams", type=_count, default=6, help="bench load: up to this many concurrent streams")
    b.add_argument("--rtt-ms", type=_rtt, action="append", default=[], metavar="TIER=MS",
                   help="bench latency and report: simulated round trip to regional or cloud, ms "
                        "(default regional=15 cloud=120; 0: none)")
    b.add_argument("--replicas", type=int, help="bench load: this many regional replicas (>= 2) behind one "
                                                "round-robin target, one killed halfway; N streams at once")

    r = sub.add_parser("replay", help="play every sample of a manifest and check the results")
    r.add_argument("manifest", nargs="?", default=str(SAMPLES_DIR), help="samples directory or manifest.json")
    r.add_argument("--json", action="store_true")
    r.add_argument("--realtime", action="store_true", help="play clips in real time instead of as fast as possible")
    r.add_argument("--regional", nargs="+", type=_address, metavar="HOST:PORT", help="use running tiers instead of starting them")
    r.add_argument("--cloud", type=_address, metavar="HOST:PORT")
    r.add_argument("--reply-dir", type=Path, metavar="DIR",
                   help="write each spoken reply as a WAV at the voice's own rate into DIR")
    r.add_argument("--voice", type=_voice, metavar="ONNX", help="Piper voice for --reply-dir (default: joe)")
    return p
