"""End of turn: Smart Turn v3.2, an audio model of whether the speaker has finished.

Smart Turn v3.2 (Daily, BSD-2-Clause; ``smart-turn-v3.2-cpu.onnx``, 8.7 MB, a
Whisper-tiny encoder with a classifier head) reads the last 8 s of the
utterance as 80x800 log-mel features (``device/_turn_features.py``) and gives
the probability that the turn is complete. The endpointer asks it at a short
VAD pause (see ``device/endpoint.py``). The file is taken at set-up time from
the ``pipecat-ai==1.14.0`` wheel (``make`` runs ``python -m common.models
smart-turn``), without pipecat or its dependencies.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from device._turn_features import last_window, log_mel
from common.models import ModelError, smart_turn_path


class SmartTurn:
    """Args:
        path: the ONNX file; None: the one set-up installed (:func:`common.models.smart_turn_path`).

    Raises:
        ModelError: the file is missing or is not a Smart Turn model.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        import onnxruntime as ort

        path = Path(path) if path is not None else smart_turn_path()
        if not path.is_file():
            raise ModelError(f"{path}: no Smart Turn model; run 'make venv' to install it, "
                             "pass --turn-model FILE, or use --endpointing fixed")
        opts = ort.SessionOptions()
        # One thread: it runs beside the wake models and the ASR on a 2-core device (Pipecat's default too).
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for a torn or foreign file
            raise ModelError(f"{path}: cannot load the Smart Turn model ({' '.join(str(exc).split())[:120]}); "
                             "run 'make venv' again or pass another --turn-model") from exc
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        if list(inputs) != ["input_features"] or list(inputs["input_features"])[1:] != [80, 800]:
            raise ModelError(f"{path}: not a Smart Turn v3 model (inputs {inputs}); pass another --turn-model")

    def complete(self, samples: np.ndarray) -> float:
        """Probability that the turn in ``samples`` is complete, 0..1.

        Args:
            samples: ``int16[n]`` at 16 kHz mono, the utterance so far (only the last 8 s are read).
        """
        features = log_mel(last_window(samples))[np.newaxis]
        out = self._session.run(None, {"input_features": features})[0]
        return float(np.asarray(out).reshape(-1)[0])


CONTINUING_WORDS = frozenset("""
a an the my your his her its our their
and or but nor because although though whereas unless until while if than as
of to for with from at by about into onto upon towards toward via per
how whether which whose
""".split())
"""Words after which an English sentence goes on: articles, possessives, conjunctions,
prepositions that are not verb particles ("on", "off", "in", "up" end commands: "turn
it on"), and clause-opening wh-words ("... to consider how"). A closed class, not a
list tuned to clips."""

_TRAILING = re.compile(r"(\w[\w']*)?\W*$")


def unfinished(transcript: str) -> bool:
    """True when ``transcript`` (Whisper's text of the utterance so far) plainly goes on:
    it ends in a comma, colon, semicolon, dash or ellipsis, or in one of
    :data:`CONTINUING_WORDS`. The text half of the end-of-turn decision: Smart
    Turn hears prosody, and a falling pitch on "to consider how" is not an end."""
    text = transcript.strip()
    if not text:
        return False
    if text.endswith((",", ":", ";", "-", "\u2014", "...", "\u2026")):
        return True
    last = _TRAILING.search(text).group(1)
    return last is not None and last.lower() in CONTINUING_WORDS
