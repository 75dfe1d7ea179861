"""Audio sources: replayed files and the microphone, as 80 ms frames.

Every source ends in the same place, :class:`device.adapter.AudioAdapter`:
``int16[1280]`` frames at 16 kHz mono with their stream time. Files are
decoded by soundfile (anything libsndfile reads: WAV 8/16/24/32-bit, float,
mu-law and A-law, FLAC, OGG, MP3, ...); the microphone is :mod:`device.mic`.
"""

from __future__ import annotations

import logging
import struct
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import soundfile as sf

from device.adapter import AudioAdapter, AudioInputError, to_pipeline_format
from device.events import AudioFrame
from device.mic import MicSource
from common.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE

__all__ = ["AudioInputError", "FileSource", "MicSource", "read_audio", "to_pipeline_format"]

log = logging.getLogger(__name__)

_READ_BLOCK = 1 << 16
"""Frames decoded per soundfile read."""


def _wav_declared_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE header promises (its ``data`` chunk size / block align).

    Walks the chunks, so ``LIST``, ``JUNK`` or ``fact`` chunks before ``data``
    are skipped. None when the file is not RIFF/WAVE or the size is a
    streaming placeholder (0 or 0xFFFFFFFF, as written to pipes).
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while len(chunk := f.read(8)) == 8:
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size)
                block_align = struct.unpack("<H", body[12:14])[0] if len(body) >= 14 else 0
                f.seek(size % 2, 1)
            elif cid == b"data":
                return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
            else:
                f.seek(size + size % 2, 1)
    return None


def read_audio(path: str | Path, *, allow_truncated: bool = False) -> np.ndarray:
    """Decode one file (anything soundfile reads) to ``int16[n]`` at 16 kHz mono.

    A truncated file (a WAV whose header promises more frames than it holds,
    or a decoder error part-way) is an error, or with ``allow_truncated`` a
    warning, and what decoded is returned.

    Raises:
        AudioInputError: missing, empty, not audio, unsupported or truncated;
            the message names the file and the problem.
    """
    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"{p}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{p}: is empty (0 bytes)")
    try:
        f = sf.SoundFile(str(p))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioInputError(f"{p}: cannot decode as audio ({reason}): it may be truncated, or not a format "
                              "soundfile reads (WAV, FLAC, OGG, MP3, AIFF, ...)") from exc
    rate = f.samplerate
    adapter = AudioAdapter(rate)
    parts: list[np.ndarray] = []
    decoded, failure = 0, None
    with f:
        try:
            while len(block := f.read(_READ_BLOCK, dtype="float32", always_2d=True)):
                decoded += len(block)
                parts.append(adapter.convert(block))
        except (sf.LibsndfileError, RuntimeError) as exc:
            failure = " ".join(str(exc).split()) or f"libsndfile error {getattr(exc, 'code', '?')}"
    parts.append(adapter.convert(np.zeros(0, np.float32), last=True))
    declared = _wav_declared_frames(p)
    if declared is not None and declared > decoded:
        failure = f"its header promises {declared / rate:.2f} s, the file holds {decoded / rate:.2f} s"
    if decoded == 0:
        detail = f"truncated: {failure}" if failure else "contains no audio samples"
        raise AudioInputError(f"{p}: {detail}")
    if failure:
        if not allow_truncated:
            raise AudioInputError(f"{p}: truncated ({failure}); --keep-going plays the part there is")
        log.warning("%s: truncated (%s); playing the %.2f s there is", p, failure, decoded / rate)
    return np.concatenate(parts)


class FileSource:
    """Files played back to back as one continuous stream, like a microphone.

    A microphone has been listening before anyone speaks and goes on after, so
    the stream starts with ``lead_in_s`` and ends with ``tail_s`` of silence
    (openWakeWord needs about a second of history before it can fire).

    Args:
        paths: files to play, in order (all decoded up front, so a bad file
            fails before anything plays).
        realtime: pace frames at the audio's own speed; False: as fast as the
            pipeline takes them.
        keep_going: a bad file is logged and skipped (listed in
            :attr:`skipped`) and a truncated one plays what it holds, instead
            of failing the whole run.

    Raises:
        AudioInputError: a file cannot be used (without ``keep_going``), or
            none of them can.
    """

    def __init__(self, paths: Sequence[str | Path], realtime: bool = True,
                 lead_in_s: float = 1.0, tail_s: float = 4.0, keep_going: bool = False) -> None:
        self.skipped: list[str] = []
        """One line per file skipped under ``keep_going``: the file and the problem."""
        parts = [np.zeros(int(lead_in_s * SAMPLE_RATE), np.int16)]
        for p in paths:
            try:
                parts.append(read_audio(p, allow_truncated=keep_going))
            except AudioInputError as exc:
                if not keep_going:
                    raise
                self.skipped.append(str(exc))
                log.warning("%s; skipped (--keep-going)", exc)
        if paths and len(self.skipped) == len(paths):
            raise AudioInputError(f"none of the {len(paths)} file(s) could be played (each is reported above)")
        parts.append(np.zeros(int(tail_s * SAMPLE_RATE), np.int16))
        audio = np.concatenate(parts)
        pad = (-len(audio)) % FRAME_SAMPLES
        self._audio = np.concatenate([audio, np.zeros(pad, np.int16)])
        self.realtime = realtime

    @property
    def duration_ms(self) -> float:
        return len(self._audio) * 1000.0 / SAMPLE_RATE

    def frames(self) -> Iterator[AudioFrame]:
        """``int16[1280]`` frames, 80 ms apart in stream time."""
        start = time.perf_counter()
        for i, offset in enumerate(range(0, len(self._audio), FRAME_SAMPLES)):
            frame = AudioFrame(self._audio[offset:offset + FRAME_SAMPLES], i * FRAME_MS)
            if self.realtime:
                # Deliver a frame when its last sample would have been captured.
                delay = start + frame.end_ms / 1000.0 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield frame
