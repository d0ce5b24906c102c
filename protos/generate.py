"""Generate Python code from the .proto contract.

Usage: python protos/generate.py [OUT_DIR]

Writes `leadrouter/v1/*_pb2.py`, `*_pb2_grpc.py` and `*.pyi` under OUT_DIR (default: this
folder, next to the .proto files). The generated files are never edited by hand; the test
suite regenerates them into a temporary folder and fails when they differ.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.glob("leadrouter/**/*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over every .proto file into out_dir; return the files written."""
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written: list[Path] = []
    for package in {p.parent.relative_to(PROTO_ROOT) for p in proto_files()}:
        parts = package.parts
        for depth in range(1, len(parts) + 1):
            init = out_dir.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text("")
        written.extend(sorted((out_dir / package).glob("*_pb2*")))
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT
    for path in generate(target):
        print(path)
