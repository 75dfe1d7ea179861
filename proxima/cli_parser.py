"""The ``proxima`` command line's parser: every command and its options (docs/architecture.md).

Defaults and choices come from the processes' own configs (``device.config``,
``regional.config``), so they are stated once. ``parser(command)`` adds the
options of that one command only: ``proxima serve`` then loads nothing of
``device/`` (tests/test_layers.py checks it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from proxima import cli_types as t
from proxima.cli_types import EXIT_BAD_INPUT  # noqa: F401 (the command's exit status, re-exported)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``proxima`` parser; with ``command`` (a name in ``COMMANDS``), only that
    command has its options (the others are listed by ``--help``, bare)."""
    p = t.Parser(prog="proxima", description="Proxima hybrid voice assistant")
    sub = p.add_subparsers(dest="command", required=True, parser_class=t.Parser)
    for name, (description, add_options) in COMMANDS.items():
        sp = sub.add_parser(name, help=description)
        if command is None or command == name:
            add_options(sp)
    return p


def command_of(argv: list[str]) -> str | None:
    """The command named in ``argv`` (its first word that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def _device_options(sp: argparse.ArgumentParser) -> None:
    """What ``device`` and ``demo`` share: routing, output, wake word, front end, end of turn, voice."""
    from device.config import POLICIES, DeviceConfig

    sp.add_argument("--policy", default=DeviceConfig.policy, choices=POLICIES)
    sp.add_argument("--json", action="store_true", help="one JSON object per utterance")
    sp.add_argument("--fast", action="store_true", help="play files as fast as the pipeline takes them")
    sp.add_argument("--trace-file", help="append every span as a JSON line to this file")
    sp.add_argument("--otlp-endpoint", type=t.otlp, metavar="HOST:PORT",
                    help="also export spans over OTLP/gRPC to this collector (see docs/tracing.md for OTEL_*)")
    _wake_options(sp)
    _endpoint_options(sp)
    _voice_options(sp)
    sp.add_argument("--local-model", default=DeviceConfig.local_model,
                    help="on-device Whisper: tiny.en, a directory or a name")
    sp.add_argument("--home", type=Path, metavar="FILE",
                    help="the home (YAML: floors, areas, entities; docs/home.md) the device acts on; "
                         "default: the simulated demo home")
    sp.add_argument("--keep-going", action="store_true",
                    help="report and skip a bad audio file (a truncated one plays what it holds); exit status 2 at the end")


def _wake_options(sp: argparse.ArgumentParser) -> None:
    from device.config import WAKE_WORDS, FrontEndConfig, WakeConfig

    sp.add_argument("--wake-threshold", type=t.threshold, action="append", default=[], metavar="[MODEL=]T",
                    help=f"wake score that fires, in (0, 1]: for all models (default {WakeConfig.threshold}), "
                         "or MODEL=T for one (repeatable)")
    sp.add_argument("--wake-model", action="append", default=[], metavar="NAME_OR_ONNX",
                    help="wake model: a bundled name (timer, weather too) or a custom .onnx path "
                         f"(repeatable; default: {', '.join(WAKE_WORDS)})")
    sp.add_argument("--noise-suppression", type=t.ranged_int(0, 4, "a noise suppression level"),
                    default=FrontEndConfig.noise_suppression, metavar="0..4",
                    help="WebRTC noise suppression of the microphone or files, 0 (off) to 4 (strongest)")
    sp.add_argument("--auto-gain", type=t.ranged_int(0, 31, "an auto gain target in dBFS"),
                    default=FrontEndConfig.auto_gain_dbfs, metavar="DBFS",
                    help="WebRTC automatic gain, 1..31 dB below full scale as wyoming-satellite's "
                         "--mic-auto-gain (0: off; webrtc-noise-gain 1.3.0 gives every value the same gain)")
    sp.add_argument("--echo-cancellation", action=argparse.BooleanOptionalAction,
                    default=FrontEndConfig.echo_cancellation,
                    help="while a reply plays on the speaker, remove it from the microphone (WebRTC AEC3) "
                         "so that a user saying a word the reply contains still barges in")
    sp.add_argument("--input-device", type=t.input_device, metavar="INDEX_OR_NAME",
                    help="microphone: a device index or (part of) its name, see 'proxima devices' (default: the system's)")


def _endpoint_options(sp: argparse.ArgumentParser) -> None:
    from common.codec import CODECS
    from device.config import ENDPOINTINGS, EndpointConfig, UplinkConfig

    e = EndpointConfig
    sp.add_argument("--hangover-ms", type=t.millis, default=e.hangover_ms,
                    help="with --endpointing fixed: silence that ends an utterance (ms)")
    sp.add_argument("--no-speech-timeout-ms", type=t.millis, default=e.no_speech_timeout_ms,
                    help="wake word then this much silence ends the utterance (ms)")
    sp.add_argument("--max-utterance-ms", type=t.millis, default=e.max_utterance_ms, help="longest utterance (ms)")
    sp.add_argument("--semantic-endpoint", action=argparse.BooleanOptionalAction, default=e.semantic,
                    help="end at a pause when the words so far are a confident device command "
                         "(with smart endpointing: when Smart Turn agrees)")
    sp.add_argument("--endpointing", default=e.endpointing, choices=ENDPOINTINGS,
                    help="end of turn: smart (Smart Turn v3.2 at a --turn-pause-ms pause, unless the words so far "
                         "go on; --turn-fallback-ms of silence when the turn is judged incomplete) or fixed "
                         "(silence of --hangover-ms)")
    sp.add_argument("--turn-pause-ms", type=t.millis, default=e.turn_pause_ms,
                    help="with smart endpointing: the pause at which Smart Turn is asked (ms)")
    sp.add_argument("--turn-fallback-ms", type=t.millis, default=e.turn_fallback_ms,
                    help="with smart endpointing: the silence that ends a turn judged incomplete (ms)")
    sp.add_argument("--turn-model", metavar="FILE", help="Smart Turn ONNX file (default: the one set-up installed)")
    sp.add_argument("--codec", default=UplinkConfig.codec, choices=CODECS,
                    help="uplink audio: pcm16 (LINEAR16, 256 kbit/s) or opus (about 32 kbit/s)")


def _voice_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--mute", action="store_true", help="do not speak replies (they are still printed)")
    sp.add_argument("--reply-dir", type=Path, metavar="DIR",
                    help="write each spoken reply as a WAV at the voice's own rate into DIR")
    sp.add_argument("--voice", type=t.voice, metavar="ONNX", help="Piper voice (.onnx, its .onnx.json beside it; default: joe)")
    sp.add_argument("--output-device", type=t.input_device, metavar="INDEX_OR_NAME",
                    help="speaker for replies: a device index or (part of) its name (default: the system's)")


def _device(d: argparse.ArgumentParser) -> None:
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("--mic", action="store_true", help="listen on the default microphone")
    src.add_argument("--wav", nargs="+", metavar="F", help="audio files, played back to back as one stream")
    d.add_argument("--regional", nargs="+", default=[], type=t.address, metavar="HOST:PORT",
                   help="regional endpoint(s), tried in order before the cloud; dns:///HOST:PORT or "
                        "ipv4:A:PORT,B:PORT balances streams over the replicas behind one endpoint")
    d.add_argument("--cloud", type=t.address, metavar="HOST:PORT", help="cloud tier address")
    d.add_argument("--tls-ca", type=Path, help="CA certificate that signed the tiers' certificates (enables TLS)")
    d.add_argument("--tls-cert", type=Path, help="client certificate, for tiers that require mutual TLS")
    d.add_argument("--tls-key", type=Path, help="client private key")
    token = d.add_mutually_exclusive_group()
    token.add_argument("--token", help="this device's bearer token (shown by ps: prefer --token-file or "
                                       "the PROXIMA_TOKEN environment variable, used when neither option is given)")
    token.add_argument("--token-file", type=Path, metavar="PATH",
                       help="read this device's bearer token from PATH: its first line that is not blank or a # comment")
    d.add_argument("--insecure", action="store_true", help="allow plaintext to non-loopback tiers")
    _device_options(d)


def _serve(s: argparse.ArgumentParser) -> None:
    from regional.config import LOG_LEVELS, TIERS, ServerConfig

    c = ServerConfig
    s.add_argument("--tier", choices=TIERS, default=c.tier)
    s.add_argument("--port", type=t.port, required=True, help="TCP port (0 picks a free one)")
    s.add_argument("--host", default=c.host)
    s.add_argument("--model", help=f"Whisper model: {c.model} (packaged), a directory or a faster-whisper name")
    s.add_argument("--trace-file", help="append every span as a JSON line to this file")
    s.add_argument("--otlp-endpoint", type=t.otlp, metavar="HOST:PORT",
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
    s.add_argument("--max-streams", type=t.count, default=c.max_streams,
                   help="streams served at once; more get RESOURCE_EXHAUSTED")
    s.add_argument("--metrics-port", type=t.port, help="serve Prometheus metrics on this port (0 picks one)")
    s.add_argument("--wyoming-port", type=t.port, metavar="N",
                   help="also serve speech-to-text over the Wyoming protocol (Home Assistant) on this TCP port, "
                        "10300 by convention (0 picks one); no TLS or tokens: loopback unless --insecure")
    s.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS,
                   help="INFO logs one line per utterance (no words); DEBUG adds the transcript")
    s.add_argument("--idle-timeout-s", type=t.seconds, default=c.idle_timeout_s, help="end a stream silent this long (s)")
    s.add_argument("--home", type=Path, metavar="FILE",
                   help="this tier's own copy of the home (YAML, docs/home.md); default: the demo home")
    s.add_argument("--fault", type=t.fault, metavar="KIND",
                   help="fault injection for tests: never-reply, stop-reading=S or delay-ms=N")


def _demo(m: argparse.ArgumentParser) -> None:
    m.add_argument("--wav", nargs="+", metavar="F", help="audio files instead of the microphone or samples/")
    m.add_argument("--simulate-distance", action="store_true",
                   help="put each tier a round trip away (regional 15 ms, cloud 120 ms) with a loopback delay proxy")
    m.add_argument("--rtt-ms", type=t.rtt, action="append", default=[], metavar="TIER=MS",
                   help="round trip to regional or cloud with --simulate-distance, ms (repeatable; implies it)")
    m.add_argument("--tier-down", action="append", default=[], choices=["regional", "cloud"],
                   help="start this tier unreachable, to show the fallback (repeatable)")
    _device_options(m)


def _trace(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("files", nargs="+", metavar="FILE", help="trace files (the device's and the tiers' together)")
    sp.add_argument("--json", action="store_true", help="print the report as one JSON object")


def _certs(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("dir", type=Path)


def _bench(b: argparse.ArgumentParser) -> None:
    from proxima.bench import KINDS

    b.add_argument("kind", choices=list(KINDS))
    b.add_argument("--json", action="store_true", help="print the report as one JSON object")
    b.add_argument("--corpus", type=Path, help="the shared corpus (default: ../shared/corpus)")
    b.add_argument("--out", type=Path, default=Path("bench_out"), help="directory for plots (default: bench_out)")
    b.add_argument("--fast", action="store_true", help="replay as fast as possible instead of in real time")
    b.add_argument("--streams", type=t.count, default=6, help="bench load: up to this many concurrent streams")
    b.add_argument("--rounds", type=t.count, default=1,
                   help="bench load: run the top level (--streams at once) this many times, "
                        "to count false hedges over streams x rounds streams")
    b.add_argument("--rtt-ms", type=t.rtt, action="append", default=[], metavar="TIER=MS",
                   help="bench latency and report: simulated round trip to regional or cloud, ms "
                        "(default regional=15 cloud=120; 0: none)")
    b.add_argument("--replicas", type=int, help="bench load: this many regional replicas (>= 2) behind one "
                                                "round-robin target, one killed halfway; N streams at once")


def _replay(r: argparse.ArgumentParser) -> None:
    r.add_argument("manifest", nargs="?", default=str(SAMPLES_DIR), help="samples directory or manifest.json")
    r.add_argument("--json", action="store_true")
    r.add_argument("--realtime", action="store_true", help="play clips in real time instead of as fast as possible")
    r.add_argument("--regional", nargs="+", type=t.address, metavar="HOST:PORT", help="use running tiers instead of starting them")
    r.add_argument("--cloud", type=t.address, metavar="HOST:PORT")
    r.add_argument("--reply-dir", type=Path, metavar="DIR",
                   help="write each spoken reply as a WAV at the voice's own rate into DIR")
    r.add_argument("--voice", type=t.voice, metavar="ONNX", help="Piper voice for --reply-dir (default: joe)")


COMMANDS = {
    "device": ("run the device on the microphone or on audio files", _device),
    "serve": ("serve the regional or cloud tier over gRPC", _serve),
    "demo": ("start both tiers on loopback and run the device", _demo),
    "devices": ("list the audio input and output devices with their default rates", lambda sp: None),
    "trace": ("waterfall per utterance and p50/p95 per span from --trace-file files", _trace),
    "certs": ("make a development CA, server and client certificates", _certs),
    "bench": ("benchmarks on the real corpus", _bench),
    "replay": ("play every sample of a manifest and check the results", _replay),
}
"""Each command: its one-line help and the function that adds its options."""
