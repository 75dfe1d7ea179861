"""Uplink audio codecs: 16 kHz mono int16 as LINEAR16 bytes, or as Opus.

The device encodes each utterance with one stateful :class:`Encoder`; the tier
decodes it back to ``int16`` at 16 kHz with one :class:`Decoder` per stream,
before its ASR. Codec names: ``"pcm16"`` (``AudioFormat.LINEAR16``) and
``"opus"`` (``AudioFormat.OPUS``).

Opus goes through PyAV's bindings to libopus (``av``): the encoder takes
16 kHz mono int16 in 20 ms frames (320 samples) at ``OPUS_BITRATE_BPS``,
variable bit rate, tuned for speech (``application=voip``). On the wire each
``AudioChunk.data`` carries whole packets, each preceded by its length as an
unsigned 16-bit little-endian byte count (see ``protos/v1/assistant.proto``);
chunks therefore concatenate, and a replay to another tier resends the same
bytes. FFmpeg's libopus decoder always outputs 48 kHz, which PyAV's
resampler (libswresample) brings back to 16 kHz.

Delay added by the codec: the encoder holds back a partial 20 ms frame (none
when audio comes in 80 ms frames, which hold four) and libopus looks 6.5 ms
ahead (104 samples at 16 kHz, which the decoded audio lags by; the tier does
not trim them: Whisper does not care); the resampler adds about 1 ms.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from typing import Protocol

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from common.audio import SAMPLE_RATE, from_bytes, to_bytes

CODECS = ("pcm16", "opus")
"""Codec names, as ``--codec`` and ``UplinkConfig.codec`` take them."""

OPUS_FRAME_MS = 20
"""Audio per Opus packet, ms (320 samples at 16 kHz)."""
OPUS_BITRATE_BPS = 32_000
"""Target Opus bit rate, bits per second: an eighth of LINEAR16. RFC 7587 advises
16-20 kbit/s for wideband speech people listen to; for Whisper base on the
corpus clips 16, 24, 32 and 48 kbit/s changed 5, 4, 4 and 2 words against
LINEAR16 (WER 0.094, 0.117, 0.094, 0.094 against 0.094), and only 32 kbit/s
and up kept "ill-disposed" in austen-0880."""
_PREFIX = struct.Struct("<H")


class CodecError(ValueError):
    """Audio the decoder cannot take; the message says what is wrong."""


class Encoder(Protocol):
    """Turns ``int16`` samples at 16 kHz into ``AudioChunk.data`` payload bytes."""

    def encode(self, samples: np.ndarray) -> bytes:
        """Payload for ``samples`` (may hold some back until the next call or :meth:`flush`)."""

    def flush(self) -> bytes:
        """Payload for whatever is held back; the encoder is finished afterwards."""


class Decoder(Protocol):
    """Turns ``AudioChunk.data`` payloads back into ``int16`` samples at 16 kHz."""

    def decode(self, data: bytes) -> np.ndarray:
        """``int16[n]`` for one payload. Raises :class:`CodecError` (a ValueError) on bad data."""

    def flush(self) -> np.ndarray:
        """``int16[n]`` still held inside the decoder, at the end of the stream."""


def encoder(codec: str) -> Encoder:
    """A fresh encoder for ``codec`` ("pcm16" or "opus"); one per stream.

    Raises:
        ValueError: an unknown codec name.
    """
    return _make(codec, {"pcm16": Pcm16Encoder, "opus": OpusEncoder})


def decoder(codec: str) -> Decoder:
    """A fresh decoder for ``codec`` ("pcm16" or "opus"); one per stream.

    Raises:
        ValueError: an unknown codec name.
    """
    return _make(codec, {"pcm16": Pcm16Decoder, "opus": OpusDecoder})


def _make(codec: str, kinds: dict):
    if codec not in kinds:
        raise ValueError(f"unknown codec {codec!r}: use one of {', '.join(CODECS)}")
    return kinds[codec]()


class Pcm16Encoder:
    """LINEAR16: the samples' little-endian bytes (stateless)."""

    def encode(self, samples: np.ndarray) -> bytes:
        return to_bytes(samples)

    def flush(self) -> bytes:
        return b""


class Pcm16Decoder:
    """LINEAR16 bytes back to samples (stateless)."""

    def decode(self, data: bytes) -> np.ndarray:
        try:
            return from_bytes(data)
        except ValueError as exc:
            raise CodecError(str(exc)) from None

    def flush(self) -> np.ndarray:
        return np.zeros(0, np.int16)


def pack(packets: list[bytes]) -> bytes:
    """Opus packets as one payload: each behind its uint16 little-endian length."""
    return b"".join(_PREFIX.pack(len(p)) + p for p in packets)


def unpack(data: bytes) -> list[bytes]:
    """The Opus packets of one payload (the inverse of :func:`pack`).

    Raises:
        CodecError: a length runs past the end of the payload, or a packet is empty.
    """
    packets, at = [], 0
    while at < len(data):
        if at + _PREFIX.size > len(data):
            raise CodecError(f"Opus payload of {len(data)} bytes ends inside a length prefix at byte {at}: "
                             "send whole length-prefixed packets")
        (size,) = _PREFIX.unpack_from(data, at)
        at += _PREFIX.size
        if size == 0:
            raise CodecError(f"empty Opus packet at byte {at - _PREFIX.size}: every packet holds at least one byte")
        if at + size > len(data):
            raise CodecError(f"Opus packet of {size} bytes at byte {at - _PREFIX.size} runs past the end of the "
                             f"{len(data)}-byte payload: send whole length-prefixed packets")
        packets.append(data[at:at + size])
        at += size
    return packets


class OpusEncoder:
    """Stateful Opus encoder for one stream: 16 kHz mono int16 in, framed packets out."""

    def __init__(self, bitrate_bps: int = OPUS_BITRATE_BPS) -> None:
        ctx = av.CodecContext.create("libopus", "w")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "mono"
        ctx.format = "s16"
        ctx.bit_rate = bitrate_bps
        ctx.options = {"application": "voip", "frame_duration": str(OPUS_FRAME_MS), "vbr": "on"}
        ctx.open()
        self._ctx = ctx
        self._pts = 0
        self._finished = False

    def encode(self, samples: np.ndarray) -> bytes:
        """Framed packets for ``samples`` (``int16[n]``); a partial 20 ms frame waits for more."""
        if self._finished:
            raise RuntimeError("the Opus encoder was flushed: make a new one per stream")
        if len(samples) == 0:
            return b""
        frame = AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1),
                                        format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = self._pts
        self._pts += len(samples)
        return pack([bytes(p) for p in self._ctx.encode(frame)])

    def flush(self) -> bytes:
        """Framed packets for the held-back samples and the encoder's lookahead, padded."""
        if self._finished:
            return b""
        self._finished = True
        return pack([bytes(p) for p in self._ctx.encode(None)])


class OpusDecoder:
    """Stateful Opus decoder for one stream: framed packets in, 16 kHz mono int16 out."""

    def __init__(self) -> None:
        self._ctx = av.CodecContext.create("libopus", "r")
        self._ctx.sample_rate = 48_000  # what FFmpeg's libopus decoder outputs anyway
        self._ctx.layout = "mono"
        self._resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        self.packets = 0
        """Packets decoded so far."""

    def decode(self, data: bytes) -> np.ndarray:
        """``int16[n]`` at 16 kHz for one payload of framed packets.

        Raises:
            CodecError: bad framing, or a packet libopus rejects.
        """
        out = []
        for packet in unpack(data):
            try:
                frames = self._ctx.decode(av.Packet(packet))
            except av.FFmpegError as exc:
                raise CodecError(f"Opus packet {self.packets} ({len(packet)} bytes) does not decode: "
                                 f"{exc.strerror or exc}") from None
            self.packets += 1
            for frame in frames:
                out.extend(self._resample(frame))
        return np.concatenate(out) if out else np.zeros(0, np.int16)

    def flush(self) -> np.ndarray:
        """The resampler's last samples, at the end of the stream."""
        out = self._resample(None)
        return np.concatenate(out) if out else np.zeros(0, np.int16)

    def _resample(self, frame: AudioFrame | None) -> list[np.ndarray]:
        return [f.to_ndarray().reshape(-1).astype(np.int16, copy=False) for f in self._resampler.resample(frame)]
