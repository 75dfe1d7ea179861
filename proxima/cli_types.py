"""The ``proxima`` command line's value types and its one-line-error parser.

Each type turns a bad value into one line naming it and what to give instead;
``Parser`` exits with status 2 and that line, never a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_BAD_INPUT = 2


def address(text: str) -> str:
    """argparse type: ``HOST:PORT`` with a port in 1..65535, or a load-balanced
    target (``dns:///HOST:PORT``, ``ipv4:A:PORT,B:PORT``; see common.targets)."""
    from common.targets import TargetError, parse

    try:
        parse(text)
    except TargetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def port(text: str) -> int:
    """argparse type: a TCP port in 0..65535 (0 picks a free one)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port in 0..65535")
    return int(text)


def threshold(text: str) -> tuple[str | None, float]:
    """argparse type: ``T`` or ``MODEL=T``, a wake score in (0, 1]."""
    name, _, value = text.rpartition("=")
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0.0 < score <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a score in (0, 1] (or MODEL=score)")
    return name or None, score


def millis(text: str) -> float:
    """argparse type: a duration from one 80 ms frame to 10 minutes, in ms."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 80.0 <= value <= 600_000.0:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds from 80 (one frame) to 600000")
    return value


def count(text: str) -> int:
    """argparse type: a whole number from 1 to 1000."""
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 1000")
    return int(text)


def ranged_int(low: int, high: int, what: str):
    """argparse type: a whole number in low..high (``what`` names it in the error)."""
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} (a whole number {low}..{high})")
        return int(text)
    return parse


def seconds(text: str) -> float:
    """argparse type: a duration from 0.1 s to 1 hour, in s."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0.1 to 3600")
    return value


def voice(text: str) -> str:
    """argparse type: a Piper ``.onnx`` voice with its ``.onnx.json`` beside it."""
    path = Path(text)
    if path.suffix != ".onnx" or not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a Piper voice file (.onnx)")
    if not Path(text + ".json").is_file():
        raise argparse.ArgumentTypeError(f"{text!r} has no {path.name}.json beside it (Piper's voice config)")
    return text


def input_device(text: str) -> int | str:
    """argparse type: an input device index, or (part of) its name."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an input device is an index or (part of) a name, see 'proxima devices'")
    return int(text) if text.isdigit() else text


def otlp(text: str) -> str:
    """argparse type: an OTLP/gRPC collector, ``HOST:PORT`` or ``http(s)://HOST:PORT``."""
    from common.tracing import TracingError, otlp_url

    try:
        return otlp_url(text)
    except TracingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def rtt(text: str) -> str:
    """argparse type: ``TIER=MS``, a simulated round trip (proxima.netsim)."""
    from proxima.netsim import DistanceError, parse_rtt

    try:
        parse_rtt([text])
    except DistanceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")




def fault(text: str):
    """argparse type: a tier fault injection (``regional.config.Fault``)."""
    from regional.config import Fault, FaultError

    try:
        return Fault.parse(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
