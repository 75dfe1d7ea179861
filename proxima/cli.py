"""The ``proxima`` command line (docs/architecture.md): demo, device, serve, replay, bench, trace.

Bad input (a missing file, a port in use, a model that won't load) ends with
one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from contextlib import ExitStack
from dataclasses import replace

from proxima.cli_parser import EXIT_BAD_INPUT, SAMPLES_DIR, command_of, parser


class UsageError(Exception):
    """A command-line value cannot be used; the message says why."""


def _status(message: str) -> None:
    """Progress for people goes to stderr, so stdout stays pure with --json."""
    print(message, file=sys.stderr, flush=True)


def _open_trace(path: str | None):
    if path is None:
        return None
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the trace file {path} ({exc.strerror or exc})") from exc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(command_of(argv)).parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    expected = _expected_errors(args.command)
    try:
        if getattr(args, "home", None) is not None:
            _use_home(args.home)
        commands = {"device": _device, "devices": _devices, "serve": _serve, "demo": _demo, "replay": _replay,
                    "bench": _bench, "certs": _certs, "trace": _trace}
        return commands[args.command](args)
    except expected as exc:
        print(f"proxima {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _expected_errors(command: str) -> tuple[type[Exception], ...]:
    """The errors that are bad input for ``command`` (one line, exit 2); ``serve``'s
    list imports nothing of ``device/``."""
    from common.home import HomeError
    from common.models import ModelError
    from common.security import SecurityError
    from common.tracing import TracingError
    from regional.server import ServeError

    errors = (UsageError, HomeError, ModelError, SecurityError, TracingError, ServeError)
    if command == "serve":
        return errors
    from device.source import AudioInputError
    from proxima.bench.corpus import CorpusError
    from proxima.replay import ManifestError
    from proxima.tiers import TierStartError
    from proxima.trace_report import TraceFileError

    return (*errors, AudioInputError, CorpusError, ManifestError, TierStartError, TraceFileError)


def _use_home(path) -> None:
    """``--home FILE``: check it now, then make it this process's home, and that of
    the tiers ``demo`` starts (they inherit the environment and load their own copy)."""
    from common.home import HOME_ENV, load_home

    load_home(path)
    os.environ[HOME_ENV] = os.path.abspath(path)


def _device_config(args, regional: list[str], cloud: str | None):
    from device.config import DeviceConfig, EndpointConfig, FrontEndConfig, UplinkConfig, WakeConfig
    from common.security import TlsFiles

    wake = WakeConfig(models=tuple(args.wake_model),
                      threshold=next((t for name, t in reversed(args.wake_threshold) if name is None), WakeConfig.threshold),
                      thresholds={name: t for name, t in args.wake_threshold if name})
    endpoint = EndpointConfig(hangover_ms=args.hangover_ms, no_speech_timeout_ms=args.no_speech_timeout_ms,
                              max_utterance_ms=args.max_utterance_ms, semantic=args.semantic_endpoint,
                              endpointing=args.endpointing, turn_model=args.turn_model,
                              turn_pause_ms=args.turn_pause_ms, turn_fallback_ms=args.turn_fallback_ms)
    tls_ca, tls_cert, tls_key = (getattr(args, k, None) for k in ("tls_ca", "tls_cert", "tls_key"))
    uplink = UplinkConfig(regional=tuple(regional), cloud=cloud, token=_device_token(args),
                          tls=TlsFiles(tls_ca, tls_cert, tls_key) if tls_ca else None,
                          insecure=getattr(args, "insecure", False), codec=args.codec)
    frontend = FrontEndConfig(noise_suppression=getattr(args, "noise_suppression", 0),
                              auto_gain_dbfs=getattr(args, "auto_gain", 0),
                              echo_cancellation=getattr(args, "echo_cancellation", True))
    return DeviceConfig(wake=wake, endpoint=endpoint, uplink=uplink, frontend=frontend, policy=args.policy,
                        local_model=args.local_model)


def _device_token(args) -> str | None:
    """``device``'s bearer token: --token, else --token-file's first token line, else $PROXIMA_TOKEN
    (the last two keep it off the command line, which ps shows to every user); None for demo."""
    from common.security import read_token_file

    if not hasattr(args, "token"):  # demo: its own loopback tiers check no token
        return None
    if args.token_file is not None:
        return read_token_file(args.token_file)[0]
    return args.token or os.environ.get("PROXIMA_TOKEN", "").strip() or None


def _serve_tokens(args) -> frozenset[str]:
    """``serve``'s accepted tokens: --token, --token-file's lines and $PROXIMA_TOKENS
    (comma-separated) together; empty: no token is checked."""
    from common.security import read_token_file

    tokens = list(args.token)
    if args.token_file is not None:
        tokens += read_token_file(args.token_file)
    tokens += os.environ.get("PROXIMA_TOKENS", "").split(",")
    return frozenset(t.strip() for t in tokens if t.strip())


def _run_device(args, wav: list[str] | None, regional: list[str], cloud: str | None) -> int:
    from device.pipeline import Pipeline
    from device.reply import emit
    from device.source import FileSource, MicSource

    if wav and args.input_device is not None:
        raise UsageError("--input-device chooses a microphone; it does not apply to --wav files")
    source = FileSource(wav, realtime=not args.fast, keep_going=args.keep_going) if wav else MicSource(args.input_device)
    with ExitStack() as stack:
        trace_file = _open_trace(args.trace_file)
        if trace_file is not None:
            stack.enter_context(trace_file)
        pipeline = Pipeline(_device_config(args, regional, cloud), trace_file, args.otlp_endpoint,
                            voice=_reply_voice(args, live_audio=not wav or not args.fast))
        stack.callback(pipeline.close)
        where = f"{len(wav)} file(s)" if wav else source.describe()
        _status(f"proxima device: listening on {where} for {', '.join(pipeline.wake.model_names)} "
                f"(policy {args.policy}; regional {', '.join(regional) or 'none'}; cloud {cloud or 'none'})")
        view = None
        if not args.json and sys.stdout.isatty():
            from device.live import LiveView

            view = stack.enter_context(LiveView(pipeline, overflows=lambda: getattr(source, "overflows", 0)))
        try:
            for result in pipeline.run(source.frames(), on_frame=view.on_frame if view else None):
                if view is not None:
                    view.on_result(result)
                else:
                    emit(result, sys.stdout, args.json)
        finally:
            if not wav:
                lost = " (audio was lost)" if source.overflows else ""
                _status(f"proxima device: {source.overflows} input overflow(s) while capturing{lost}")
    if wav and source.skipped:
        _status(f"proxima device: {len(source.skipped)} of {len(wav)} file(s) skipped (reported above)")
        return EXIT_BAD_INPUT
    return 0


def _reply_voice(args, live_audio: bool):
    """Spoken replies: played when audio is live (a microphone, or files in real
    time) and not ``--mute``; written with ``--reply-dir``; None when neither."""
    from device.speech import ReplyVoice, ReplyWriter, Speaker
    from device.tts import Synthesizer

    speaker = None
    if live_audio and not args.mute:
        speaker = Speaker(args.output_device)
        if not speaker.available and args.output_device is not None:
            raise UsageError(f"output device {args.output_device!r} cannot be used ({speaker.why_not}): "
                             "'proxima devices' lists the output devices; or --mute")
        if not speaker.available:
            _status(f"proxima device: no audio output ({speaker.why_not}): replies are printed, not spoken "
                    "(--mute hides this note)")
            speaker = None
    writer = None
    if args.reply_dir is not None:
        if args.reply_dir.exists() and not args.reply_dir.is_dir():
            raise UsageError(f"--reply-dir {args.reply_dir} is a file, not a directory")
        try:
            writer = ReplyWriter(args.reply_dir)
        except OSError as exc:
            raise UsageError(f"cannot write replies to {args.reply_dir} ({exc.strerror or exc})") from exc
    if speaker is None and writer is None:
        return None
    return ReplyVoice(Synthesizer(args.voice), speaker, writer)


def _device(args) -> int:
    return _run_device(args, args.wav, args.regional, args.cloud)


def _serve(args) -> int:
    from common.security import TlsFiles
    from regional.config import default_config
    from regional.server import serve

    tls = TlsFiles(args.tls_client_ca, args.tls_cert, args.tls_key) if args.tls_cert or args.tls_key else None
    cfg = replace(default_config(args.tier, args.port, args.model), host=args.host, fault=args.fault,
                  tls=tls, tokens=_serve_tokens(args), insecure=args.insecure,
                  max_streams=args.max_streams, idle_timeout_s=args.idle_timeout_s, metrics_port=args.metrics_port,
                  wyoming_port=args.wyoming_port)
    logging.getLogger("proxima").setLevel(args.log_level)
    trace_file = _open_trace(args.trace_file)
    try:
        asyncio.run(serve(cfg, trace_file=trace_file, otlp_endpoint=args.otlp_endpoint))
    finally:
        if trace_file is not None:
            trace_file.close()
    return 0


def _start_tiers(stack: ExitStack, down: list[str], otlp_endpoint: str | None = None) -> tuple[list[str], str]:
    from proxima.tiers import TierProcess, unreachable_address

    extra = ("--otlp-endpoint", otlp_endpoint) if otlp_endpoint else ()
    addresses = {t: stack.enter_context(TierProcess(t, extra_args=extra)).address
                 for t in ("regional", "cloud") if t not in down}
    for tier in down:  # after the live tiers bound theirs, so the ports cannot collide
        addresses[tier] = unreachable_address()
    return [addresses["regional"]], addresses["cloud"]


def _demo(args) -> int:
    from device.source import MicSource
    from proxima.replay import load_manifest

    wav = args.wav
    if not wav and args.input_device is None and not MicSource.available():
        root, clips = load_manifest(SAMPLES_DIR)
        wav = [str(root / c["file"]) for c in clips]
        _status(f"proxima demo: no microphone found; playing the {len(wav)} clips of {SAMPLES_DIR}")
    if wav and not args.keep_going:  # check the files before the tiers spend time starting
        from device.source import read_audio
        for f in wav:
            read_audio(f)
    with ExitStack() as stack:
        up = [t for t in ("regional", "cloud") if t not in args.tier_down]
        if up:
            _status(f"proxima demo: starting the {' and '.join(up)} tier{'s' if len(up) > 1 else ''} on loopback...")
        regional, cloud = _start_tiers(stack, args.tier_down, args.otlp_endpoint)
        for tier in sorted(set(args.tier_down)):
            _status(f"proxima demo: the {tier} tier is down (nothing listens at its address)")
        if args.simulate_distance or args.rtt_ms:
            regional, cloud = _far(stack, args, regional, cloud)
        return _run_device(args, wav, regional, cloud)


def _far(stack: ExitStack, args, regional: list[str], cloud: str) -> tuple[list[str], str]:
    """The demo's live tiers behind delay proxies (a tier that is down stays down)."""
    from proxima.netsim import Distance, parse_rtt

    rtt = parse_rtt(args.rtt_ms)
    distance = stack.enter_context(Distance())
    if "regional" not in args.tier_down:
        regional = [distance.add(a, rtt["regional"]) for a in regional]
    if "cloud" not in args.tier_down:
        cloud = distance.add(cloud, rtt["cloud"])
    _status(f"proxima demo: simulating distance: regional {rtt['regional']:g} ms, cloud {rtt['cloud']:g} ms round trip")
    return regional, cloud


def _certs(args) -> int:
    from common.security import make_dev_certs

    try:
        written = make_dev_certs(args.dir)
    except OSError as exc:
        raise UsageError(f"cannot write certificates to {args.dir} ({exc.strerror or exc})") from exc
    _status(f"proxima certs: wrote {', '.join(p.name for p in written)} to {args.dir} (development use only)")
    return 0


def _devices(args) -> int:
    from device.mic import device_table

    lines = device_table()
    if not lines:
        _status("proxima devices: PortAudio finds no audio device: connect a microphone (and check that you may use it; "
                "on Linux, the 'audio' group); files still play with --wav")
    for line in lines:
        print(line, flush=True)
    return 0


def _bench(args) -> int:
    from proxima import bench

    opts = bench.BenchOptions(out=args.out, fast=args.fast)
    if args.corpus:
        opts = replace(opts, corpus=args.corpus)
    extra = {"streams": args.streams, "rounds": args.rounds} if args.kind == "load" else {}
    if args.kind in ("latency", "report"):
        from proxima.netsim import parse_rtt

        extra["rtt_ms"] = parse_rtt(args.rtt_ms)
    if args.replicas is not None:
        if args.kind != "load" or args.replicas < 2 or args.streams < 1:
            raise UsageError("--replicas is for bench load, with at least 2 replicas (one is killed) and 1 stream")
        extra["replicas"] = args.replicas
        del extra["rounds"]
    print(bench.render(bench.run(args.kind, opts, **extra), args.json), flush=True)
    return 0


def _trace(args) -> int:
    from proxima.trace_report import run

    return run(args.files, args.json, sys.stdout)


def _replay(args) -> int:
    from device.config import DeviceConfig, UplinkConfig
    from device.pipeline import Pipeline
    from proxima.replay import load_manifest, replay

    load_manifest(args.manifest)  # fail fast on a bad manifest
    with ExitStack() as stack:
        if args.regional or args.cloud:
            regional, cloud = args.regional or [], args.cloud
        else:
            regional, cloud = _start_tiers(stack, [])
        pipeline = Pipeline(DeviceConfig(uplink=UplinkConfig(regional=tuple(regional), cloud=cloud)),
                            voice=_reply_voice(args, live_audio=False))
        stack.callback(pipeline.close)
        failed = 0
        for check in replay(pipeline, args.manifest, realtime=args.realtime):
            failed += not check.passed
            if args.json:
                print(json.dumps(check.to_json()), flush=True)
            else:
                r = check.result
                summary = f"route {r.route}, intent {r.intent.name if r and r.intent else None}, heard {r.transcript!r}" if r else ""
                print(f"{'PASS' if check.passed else 'FAIL'}  {check.file:28} {summary}", flush=True)
                for p in check.problems:
                    print(f"      {p}", flush=True)
        if not args.json:
            print(f"{failed} of the clips failed" if failed else "all clips passed", flush=True)
    return 1 if failed else 0
