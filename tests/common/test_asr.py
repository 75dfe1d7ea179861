"""The sized-window Whisper decode on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import LIVING_ROOM, WAKE_MYCROFT, corpus
from device.source import FileSource
from common.asr import Transcriber, TranscriptionOptions


@pytest.fixture(scope="module")
def stream() -> np.ndarray:
    """The wake clip and a command as the device streams them (1 s of silence first), int16 at 16 kHz."""
    frames = FileSource([corpus(WAKE_MYCROFT), corpus(LIVING_ROOM)], realtime=False).frames()
    return np.concatenate([f.samples for f in frames])


@pytest.mark.parametrize("model", ["base", "tiny.en"])
def test_speech_cut_right_at_its_end_is_not_a_loop(stream, model):
    """Cut where a VAD pause hint can fall (1.76 s to 3.28-3.52 s of the stream). With no real
    silence after the audio (only zero-valued features padding the window), base looped on the
    3.44 s cut ("Turn on the living room light. Turn on the ...") and the loop guard blanked it."""
    asr = Transcriber(model, TranscriptionOptions(beam_size=1, vad_filter=True))
    for end_ms in (3280, 3360, 3440, 3520):
        words = asr.transcribe(stream[1760 * 16:end_ms * 16]).text.lower().strip(" .").split()
        # The last word may be clipped ("line" for "light"), never repeated nor lost.
        assert words[:5] == "turn on the living room".split() and len(words) == 6, (end_ms, words)
