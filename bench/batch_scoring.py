"""Batch scoring: rows per second, and peak memory flat in the input's size.

Trains a small model on the packaged Iris, writes CSVs of increasing size (rows drawn from
Iris with noise, plus an id column), and scores each in a fresh process with the same code as
`python -m app score` (`app.batch.score_lines`, here from a local file into a local file, so
the figure is the scoring's, not LocalStack's). Each run reports rows/s and the process's peak
RSS: flat peak memory across sizes is what streaming promises.

    python -m bench.batch_scoring [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from app.dataset import packaged_dataset_bytes, parse_csv

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    data = parse_csv(packaged_dataset_bytes())
    rng = np.random.default_rng(seed)
    names = ",".join(data.feature_names)
    with path.open("w") as out:
        out.write(f"id,{names}\n")
        for start in range(0, rows, 100_000):
            count = min(100_000, rows - start)
            picked = data.features[rng.integers(0, len(data.features), count)]
            noisy = picked + rng.normal(0, 0.05, picked.shape).astype(np.float32)
            lines = "\n".join(
                f"{start + i}," + ",".join(f"{v:.2f}" for v in row)
                for i, row in enumerate(noisy.tolist())
            )
            out.write(lines + "\n")


def score_in_this_process(model_dir: Path, source: Path, target: Path) -> dict[str, float]:
    from app import batch
    from app.registry import ModelMetadata

    artifact = (model_dir / "model.onnx").read_bytes()
    meta = ModelMetadata.model_validate_json((model_dir / "metadata.json").read_text())
    with source.open(newline="") as lines, target.open("wb") as out:
        result = batch.score_lines(lines, artifact, meta, out, str(source))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": result.rows,
        "rows_per_second": result.rows_per_second,
        "peak_rss_mib": peak_kib / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_scoring", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        model_dir, source, target = map(Path, args.child)
        print(json.dumps(score_in_this_process(model_dir, source, target)))
        return 0
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        work = Path(tmp)
        model_dir = work / "model"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "train",
                "--data",
                "packaged",
                "--epochs",
                "100",
                "--output",
                str(model_dir),
            ],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )
        print(f"{'rows':>10} {'rows/s':>10} {'peak RSS MiB':>13}")
        for rows in args.rows:
            source = work / f"in-{rows}.csv"
            write_csv(source, rows)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.batch_scoring",
                    "--child",
                    str(model_dir),
                    str(source),
                    str(work / f"out-{rows}.csv.gz"),
                ],
                cwd=PROJECT_ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(done.stdout)
            print(
                f"{rows:>10,} {figures['rows_per_second']:>10,.0f} {figures['peak_rss_mib']:>13.0f}"
            )
            source.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
