"""The layers import only downward: the ``proxima`` command, then ``device`` and
``regional`` (never each other), then the kernel ``common``, then ``protos``
(docs/architecture.md). Every import counts, also those inside functions."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import REPO

LAYERS = ("proxima", "device", "regional", "common", "protos")
MAY_NOT_IMPORT = {
    "protos": {"proxima", "device", "regional", "common"},
    "common": {"proxima", "device", "regional"},
    "device": {"proxima", "regional"},
    "regional": {"proxima", "device"},
    "proxima": set(),
}


def imported_packages(path) -> set[tuple[str, int]]:
    """The top-level packages of every import in one file, with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            arg = node.args[0]  # importlib.import_module("x.y") hides an arrow from the plain walk
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add((arg.value.split(".")[0], node.lineno))
    return found


def violations(layer: str) -> list[str]:
    bad = []
    for path in sorted((REPO / layer).rglob("*.py")):
        for package, line in imported_packages(path):
            if package in MAY_NOT_IMPORT[layer]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {package}")
    return bad


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if MAY_NOT_IMPORT[layer]])
def test_a_layer_imports_only_what_lies_below_it(layer):
    assert violations(layer) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from device.uplink import Uplink\n    import importlib\n"
                    "    importlib.import_module('regional.server')\n")
    assert {p for p, _ in imported_packages(path)} >= {"device", "regional"}


def test_serve_loads_nothing_of_the_device():
    """``proxima serve``'s whole path (parser, errors, server) without ``device/``: the tier's
    image copies no ``device/`` (Dockerfile)."""
    code = ("import sys; from proxima import cli; import regional.server, regional.wyoming_handler; "
            "cli.parser(cli.command_of(['serve', '--port', '0'])).parse_args(['serve', '--port', '0']); "
            "cli._expected_errors('serve'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'device'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
