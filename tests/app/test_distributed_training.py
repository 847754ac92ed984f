"""Training across processes runs through torchrun (PyTorch's launcher), gloo on CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import free_port

# Slow: two torchrun processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_two_ranks_train_one_model_written_by_the_primary(tmp_path: Path) -> None:
    out = tmp_path / "model"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    result = subprocess.run(
        [
            *launcher,
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            str(free_port()),
            "-m",
            "app",
            "train",
            "--data",
            "packaged",
            "--epochs",
            "5",
            "--grid",
            "8:0.01",
            "--output",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    # Both ends: a rank's own error comes first, torchrun's summary of it last.
    assert result.returncode == 0, result.stderr[:3000] + "\n...\n" + result.stderr[-2000:]
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["params"]["world_size"] == 2, "the run was not distributed"
    assert sorted(path.name for path in out.iterdir()) == ["metadata.json", "model.onnx"]
