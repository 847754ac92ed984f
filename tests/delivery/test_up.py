"""`make up` without the Pulumi CLI: a clear message naming how to install it, exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import up


def test_up_without_the_pulumi_cli_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    assert up.main(["--stack", "local"]) == 1
    err = capsys.readouterr().err
    assert "Pulumi CLI is not on PATH" in err and "get.pulumi.com" in err, err


def test_up_refuses_cloud_stacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "pulumi"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert up.main(["--stack", "prod"]) == 2
    assert "deploys only the local stack" in capsys.readouterr().err
