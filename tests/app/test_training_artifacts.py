"""A training run that dies leaves no stray model.onnx behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.registry import ModelMetadata
from app.training import pipeline
from tests.live_server import PROJECT_ROOT

# Slow: training processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

# Kills its own process the moment the ONNX export returns, as an OOM kill or an evicted
# pod would: no `finally`, no atexit, no TemporaryDirectory cleanup runs.
KILLED_DURING_EXPORT = textwrap.dedent(
    """
    import os, signal, torch
    from app.training.model import build_classifier, export_onnx

    real_export = torch.onnx.export

    def export_then_die(*args, **kwargs):
        real_export(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    torch.onnx.export = export_then_die
    export_onnx(build_classifier(torch.zeros(4), torch.ones(4), 8, 3), 4)
    """
)


def test_a_run_killed_during_export_leaves_no_onnx_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILLED_DURING_EXPORT],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.onnx"))
    assert left == [], f"orphaned by the killed run: {left}"


def test_a_failed_local_write_keeps_the_previous_model_and_no_temp_file(
    tmp_path: Path, trained: tuple[bytes, ModelMetadata], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.onnx").write_bytes(b"previous model")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        pipeline.write_local(tmp_path, *trained)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    assert (tmp_path / "model.onnx").read_bytes() == b"previous model"


def test_a_local_write_holds_the_artifact_and_its_checksum(
    tmp_path: Path, trained: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained
    pipeline.write_local(tmp_path / "out", artifact, meta)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metadata.json", "model.onnx"]
    assert (tmp_path / "out" / "model.onnx").read_bytes() == artifact
    written = ModelMetadata.model_validate_json((tmp_path / "out" / "metadata.json").read_text())
    assert written.artifact_sha256 == meta.artifact_sha256


def test_a_local_write_is_readable_as_a_plain_write_would_be(
    tmp_path: Path, trained: tuple[bytes, ModelMetadata]
) -> None:
    """Written through a temporary file (0600 by default), yet given the umask's mode, so a
    reader running as another user (a server container) can open it."""
    previous = os.umask(0o022)
    try:
        pipeline.write_local(tmp_path / "out", *trained)
    finally:
        os.umask(previous)
    for name in ("model.onnx", "metadata.json"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644, name
