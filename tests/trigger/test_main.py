"""`python -m app.trigger` refuses to start without a usable token, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra_tools.synth.stackfile import PROJECT_ROOT

# Slow: trigger processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow


def run_trigger(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_TRIGGER_")}
    return subprocess.run(
        [sys.executable, "-m", "app.trigger"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_file_setting_exits_2() -> None:
    result = run_trigger({})
    assert result.returncode == 2
    assert "MLOPS_TRIGGER_TOKEN_FILE: Field required" in result.stderr


def test_short_token_exits_2_with_the_fix(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("short")
    result = run_trigger({"MLOPS_TRIGGER_TOKEN_FILE": str(token)})
    assert result.returncode == 2
    assert "shorter than 16 characters" in result.stderr
    assert "Traceback" not in result.stderr
