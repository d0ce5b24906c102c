"""The committed generated protobuf code matches what protos/generate.py produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "protos" / "generate.py"
COMMITTED = ROOT / "protos" / "leadrouter" / "v1"
PATTERNS = ("*_pb2.py", "*_pb2_grpc.py", "*.pyi")


def _load_generator() -> ModuleType:
    # protos/ is not a package, so the script is loaded from its file
    spec = importlib.util.spec_from_file_location("leadrouter_protos_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _generated_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for pattern in PATTERNS for p in folder.glob(pattern)}


def test_committed_generated_code_matches_the_proto_files(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)

    fresh = _generated_files(tmp_path / "leadrouter" / "v1")
    committed = _generated_files(COMMITTED)
    assert fresh, "protos/generate.py generated nothing"

    hint = "the generated code is out of date with the .proto files: run `make protos`"
    differing = sorted(name for name in fresh if committed.get(name) != fresh[name])
    assert not differing, f"{hint}; differing or missing files: {differing}"
    stale = sorted(set(committed) - set(fresh))
    assert not stale, f"{hint}; committed files no .proto generates any more: {stale}"
