"""Estimate of the serving image's size where no container engine runs.

Installs exactly what the Dockerfile's `serve` target installs (the lock file's runtime
dependencies, hash-checked, bytecode compiled) into a scratch virtualenv and measures it;
the base image's size is added from `--base-mb`. Run with `python -m bench.serving_image`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UV = PROJECT_ROOT / ".cache" / "tools" / "bin" / "uv"
# python:3.11-slim-bookworm, uncompressed, as `docker image ls` reports it (about 125 MB).
DEFAULT_BASE_MB = 125.0


def tree_megabytes(root: Path) -> float:
    total = sum(path.lstat().st_size for path in root.rglob("*") if path.is_file())
    return total / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serving_image", description=__doc__)
    parser.add_argument("--base-mb", type=float, default=DEFAULT_BASE_MB, help="base image MB")
    args = parser.parse_args(argv)
    if not UV.exists():
        parser.error(f"{UV} is missing; run `make venv` first")
    with tempfile.TemporaryDirectory() as scratch:
        requirements, venv = Path(scratch) / "requirements.txt", Path(scratch) / "venv"
        export = ["export", "--frozen", "--no-dev", "--no-default-groups", "--no-emit-project"]
        subprocess.run([UV, *export, "-q", "-o", requirements], cwd=PROJECT_ROOT, check=True)
        subprocess.run([UV, "venv", "-q", "--python", "3.11", venv], check=True)
        env = {**os.environ, "UV_COMPILE_BYTECODE": "1", "UV_LINK_MODE": "copy"}
        install = ["pip", "install", "-q", "--python", venv / "bin" / "python"]
        subprocess.run([UV, *install, "--require-hashes", "-r", requirements], check=True, env=env)
        dependencies = tree_megabytes(venv)
    app = tree_megabytes(PROJECT_ROOT / "app")
    total = args.base_mb + dependencies + app
    print(
        f"base image {args.base_mb:.0f} MB + dependencies {dependencies:.0f} MB + app {app:.1f} MB"
    )
    print(f"serving image, estimated: {total:.0f} MB (target: under 600 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
