"""Benchmark: wall time of `python -m infra_tools synth` per stack, each run a cold process.

Run with `python -m bench.synth [--runs N]`; the figures go into docs/operations.md. Cold processes
include the interpreter start and the SDK imports, which is what a user waits for.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "prod", "local")


def time_synth(stack: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "infra_tools", "synth", "--stack", stack, "--out", str(out)],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="cold runs per stack (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    print(f"{'stack':<6} {'min s':>7} {'median s':>9} {'max s':>7}")
    with tempfile.TemporaryDirectory() as scratch:
        for stack in STACKS:
            times = [time_synth(stack, Path(scratch) / stack) for _ in range(args.runs)]
            print(
                f"{stack:<6} {min(times):>7.2f} {statistics.median(times):>9.2f} {max(times):>7.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
