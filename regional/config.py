"""The tier process's configuration: one frozen dataclass, as ``device/config.py``
is the device's. ``proxima serve`` takes its defaults and choices from here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from common.security import TlsFiles

TIERS = ("regional", "cloud")
"""The tiers one process can serve; the tier names its spans and replies."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
"""``--log-level``: INFO logs one line per utterance (no words); DEBUG adds the transcript."""
FAULT_KINDS = ("never-reply", "stop-reading", "delay-ms")
"""Fault injection for tests and ``bench faults`` (``Fault``)."""


class FaultError(ValueError):
    """A fault injection spec cannot be used; the message lists the accepted forms."""


@dataclass(frozen=True)
class Fault:
    """A fault the tier injects into every stream, for tests and ``bench faults``.

    - ``never-reply``: reads every message, never sends the final result.
    - ``stop-reading=S``: stops reading the stream S s after it opens (the
      client's deadline ends the call).
    - ``delay-ms=N``: holds the final result N ms.
    """

    kind: str
    """One of ``FAULT_KINDS``."""
    value: float = 0.0
    """S for stop-reading (s), N for delay-ms (ms); 0 for never-reply."""

    @classmethod
    def parse(cls, text: str) -> "Fault":
        """``never-reply``, ``stop-reading=S`` or ``delay-ms=N``.

        Raises:
            FaultError: an unknown kind, or a value that is not a number >= 0.
        """
        kind, _, value = text.partition("=")
        usage = "use never-reply, stop-reading=S or delay-ms=N"
        if kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault {text!r}: {usage}")
        try:
            number = float(value) if value else 0.0
        except ValueError:
            number = -1.0
        if not 0.0 <= number < math.inf or (kind == "never-reply") == bool(value):
            raise FaultError(f"bad fault {text!r}: {usage}")
        return cls(kind, number)

    def __str__(self) -> str:
        return self.kind if self.kind == "never-reply" else f"{self.kind}={self.value:g}"


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota
    (a container's ``resources.limits.cpu``), where ``os.cpu_count()`` would give the node's."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max", encoding="ascii").read().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 limit: the affinity stands
    return max(1, cores)


@dataclass(frozen=True)
class ServerConfig:
    """How one tier is served."""

    tier: str = "regional"
    """"regional" or "cloud": names the spans and replies."""
    host: str = "127.0.0.1"
    port: int = 0
    """TCP port; 0 picks a free one (printed once listening)."""
    model: str = "base"
    """Whisper model: packaged name, directory or faster-whisper name."""
    beam_size: int = 1
    """Regional decodes greedily; the cloud tier's wider beam is its larger model."""
    decode_workers: int = field(default_factory=lambda: usable_cores())
    """Decodes that run at once: one per core."""
    tls: TlsFiles | None = None
    """Serve TLS with these files; ``tls.ca`` set: mutual TLS (clients need a certificate it signed)."""
    tokens: frozenset[str] = frozenset()
    """Bearer tokens accepted on Assistant calls; empty: no token is checked."""
    insecure: bool = False
    """Allow plaintext on a non-loopback host."""
    max_streams: int = 8
    """Streams served at once before RESOURCE_EXHAUSTED (4 per decode worker)."""
    idle_timeout_s: float = 10.0
    """A stream with no message this long is ended, s."""
    metrics_port: int | None = None
    """Serve Prometheus metrics on this port (0 picks one); None: no metrics endpoint."""
    drain_s: float = 10.0
    """On SIGTERM, streams in flight get this long to finish, s."""
    wyoming_port: int | None = None
    """Also serve the Wyoming protocol (Home Assistant) on this TCP port (0 picks one); None: off."""
    interim_every_s: float = 1.0
    """Audio between interim decodes, s; 0: no interim results."""
    fault: Fault | None = None
    """Fault injection, for tests (``Fault``); None: none."""


def default_config(tier: str, port: int, model: str | None = None) -> ServerConfig:
    """Tier defaults: cloud uses the same packaged base model with beam 5."""
    return ServerConfig(tier=tier, port=port, model=model or "base", beam_size=5 if tier == "cloud" else 1)
