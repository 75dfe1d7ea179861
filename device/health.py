"""Tier health on the device: a circuit breaker per endpoint, closed again by
grpc.health.v1 probes.

After ``failures_to_open`` failures in a row the breaker opens and the
endpoint is skipped, so later utterances do not each pay for its timeout. A
background probe asks the endpoint's health service every
``probe_interval_s``; the first SERVING answer closes the breaker. When every
tier's breaker is open the device answers offline at once.
"""

from __future__ import annotations

import threading

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.contract import HEALTH_SERVICE



class EndpointHealth:
    """Circuit breaker for one endpoint. Thread-safe.

    Args:
        address: ``host:port``, for messages.
        channel: the device's channel to it (probes share it).
        failures_to_open: consecutive failures that open the breaker.
        probe_interval_s: seconds between health probes while open.
    """

    def __init__(self, address: str, channel: grpc.Channel, failures_to_open: int = 1,
                 probe_interval_s: float = 0.5) -> None:
        self.address = address
        self._channel = channel
        self._failures_to_open = failures_to_open
        self._probe_interval_s = probe_interval_s
        self._lock = threading.Lock()
        self._failures = 0
        self._open = False
        self._closed_event = threading.Event()
        self._stopped = threading.Event()

    @property
    def available(self) -> bool:
        """False while the breaker is open (the endpoint is being skipped)."""
        with self._lock:
            return not self._open

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._open = 0, False

    def record_failure(self) -> None:
        """Count a failure; opening the breaker starts the health probe."""
        with self._lock:
            self._failures += 1
            if self._open or self._failures < self._failures_to_open:
                return
            self._open = True
        threading.Thread(target=self._probe, name=f"probe-{self.address}", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _probe(self) -> None:
        stub = health_pb2_grpc.HealthStub(self._channel)
        while not self._stopped.wait(self._probe_interval_s):
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=HEALTH_SERVICE),
                                    timeout=self._probe_interval_s).status
            except grpc.RpcError:
                continue
            if status == health_pb2.HealthCheckResponse.SERVING:
                self.record_success()
                return

