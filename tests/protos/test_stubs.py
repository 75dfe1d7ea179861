"""The committed stubs are exactly what grpcio-tools makes from the .proto."""

from __future__ import annotations

import shutil
from pathlib import Path

from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[2]
GENERATED = ("assistant_pb2.py", "assistant_pb2.pyi", "assistant_pb2_grpc.py")


def test_regenerating_the_stubs_changes_nothing(tmp_path):
    (tmp_path / "protos" / "v1").mkdir(parents=True)
    shutil.copy(REPO / "protos" / "v1" / "assistant.proto", tmp_path / "protos" / "v1")
    rc = protoc.main(["protoc", f"-I{tmp_path}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
                      f"--grpc_python_out={tmp_path}", str(tmp_path / "protos" / "v1" / "assistant.proto")])
    assert rc == 0
    for name in GENERATED:
        fresh = (tmp_path / "protos" / "v1" / name).read_text()
        committed = (REPO / "protos" / "v1" / name).read_text()
        assert fresh == committed, f"protos/v1/{name} is stale: regenerate it (see README.md, 'Regenerating the gRPC stubs')"
