"""Distance made visible: a loopback TCP proxy that delays traffic by a round-trip time.

On loopback every tier is 0 ms away, so a trace cannot show what proximity is
worth. :class:`Distance` puts a proxy in front of a tier: every chunk read
from either side is written to the other half a round trip (``rtt_ms / 2``)
later, in order. Each chunk carries its own due time, so a stream of chunks is
shifted by the one-way delay, not slowed by it (latency, not bandwidth): 80 ms
audio frames still arrive every 80 ms, each 7.5 ms late for a 15 ms RTT.

HTTP/2 through it behaves as over a long link: one TCP connection carries
every gRPC stream and the connection's own frames (SETTINGS and their acks,
PING, WINDOW_UPDATE), all delayed alike and never reordered, so the
connection preface costs a round trip before the channel is ready, a unary
call costs at least one, flow-control credit returns a round trip late, and
keepalive PINGs measure the simulated RTT. Not modelled: the TCP handshake
(the proxy accepts at once; the device keeps its channel open across
utterances anyway), bandwidth, jitter and loss.

Own code rather than a library: toxiproxy needs its Go server binary and
``tc netem`` needs root; this is one asyncio task per direction.
"""

from __future__ import annotations

import asyncio
import threading
import time

DEFAULT_RTT_MS = {"regional": 15.0, "cloud": 120.0}
"""Round trip from the device to each tier, ms: a metro-area edge site versus a
distant cloud region (typical figures, not a measurement)."""

READ_BYTES = 64 * 1024


class DistanceError(Exception):
    """A distance setting cannot be used; the message says why."""


def parse_rtt(items: list[str] | None) -> dict[str, float]:
    """``["regional=15", "cloud=120"]`` -> ``{"regional": 15.0, "cloud": 120.0}``
    over :data:`DEFAULT_RTT_MS` (a tier not named keeps its default), ms.

    Raises:
        DistanceError: an unknown tier or a value that is not a number from 0 to 10,000
            (beyond the device's deadlines, a round trip only times every call out).
    """
    rtt = dict(DEFAULT_RTT_MS)
    for item in items or ():
        tier, _, value = item.partition("=")
        try:
            ms = float(value)
        except ValueError:
            ms = -1.0
        if tier not in rtt or not 0 <= ms <= 10_000:
            raise DistanceError(f"{item!r} is not TIER=MS with TIER regional or cloud and MS from 0 to 10000")
        rtt[tier] = ms
    return rtt


class Distance:
    """Delay proxies on loopback, all served by one asyncio thread.

    Use :meth:`add` for each tier address, give the devices the address it
    returns, and :meth:`close` at the end (or use it as a context manager).
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._thread = threading.Thread(target=self._loop.run_forever, name="netsim", daemon=True)
        self._thread.start()

    def add(self, target: str, rtt_ms: float, host: str = "127.0.0.1") -> str:
        """Listen on a free port of ``host`` and relay each connection to
        ``target`` (``host:port``) with ``rtt_ms`` of round trip.

        Returns:
            The proxy's ``host:port``.
        """
        future = asyncio.run_coroutine_threadsafe(self._listen(target, rtt_ms / 2000.0, host), self._loop)
        server = future.result(10)
        self._servers.append(server)
        return f"{host}:{server.sockets[0].getsockname()[1]}"

    def cpu_s(self) -> float:
        """CPU time the proxy thread has used so far, s (a benchmark subtracts it
        from the process's: the network is not the device's work)."""
        async def thread_cpu() -> float:
            return time.thread_time()
        return asyncio.run_coroutine_threadsafe(thread_cpu(), self._loop).result(10)

    def close(self) -> None:
        async def shut() -> None:
            for server in self._servers:
                server.close()
            relays = asyncio.all_tasks() - {asyncio.current_task()}
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
            await asyncio.sleep(0)  # closed transports let go of their sockets on the next turn
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> "Distance":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the proxy thread ----------------------------------------------------------
    async def _listen(self, target: str, delay_s: float, host: str) -> asyncio.base_events.Server:
        target_host, _, target_port = target.rpartition(":")

        async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
            try:
                tier_r, tier_w = await asyncio.open_connection(target_host, int(target_port))
            except OSError:
                client_w.close()  # the tier is down: the device sees the connection drop
                return
            try:
                try:
                    async with asyncio.TaskGroup() as both:  # a reset on one side ends the other too
                        both.create_task(_pipe(client_r, tier_w, delay_s))
                        both.create_task(_pipe(tier_r, client_w, delay_s))
                except* OSError:
                    pass
            except asyncio.CancelledError:
                pass  # closing the proxy: end quietly (streams would log a cancelled callback)
            finally:
                client_w.close()
                tier_w.close()

        return await asyncio.start_server(relay, host, 0)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay_s`` after it was read,
    in order; end of file is passed on (half-close) just as late."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            # Due times only grow, so waiting for each in turn keeps the order
            # and never adds one chunk's delay to the next.
            while (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(READ_BYTES)
            queue.put_nowait((loop.time() + delay_s, data))
            if not data:
                break
        await delivering
    finally:
        delivering.cancel()
