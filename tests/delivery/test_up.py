"""`make up` without the Pulumi CLI: it uses the pinned CLI from the tool cache, installing it
when it can and saying how to install it by hand when it can't (exit 1); cloud stacks are refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import pulumi_cli, up
from tests.ports import free_port


@pytest.fixture
def tool_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty tool cache in place of the project's, and a state folder beside it."""
    cache = tmp_path / "tools" / "pulumi"
    monkeypatch.setattr(pulumi_cli, "TOOLS_DIR", cache)
    monkeypatch.setattr(up, "STATE_DIR", tmp_path / "pulumi-state")
    return cache


def _cached_cli(tool_cache: Path, does: str) -> None:
    """A Pulumi CLI already in the tool cache whose every binary runs `does`, then exits 3."""
    bin_dir = pulumi_cli.bin_dir(cache_dir=tool_cache)
    bin_dir.mkdir(parents=True)
    for name in pulumi_cli.REQUIRED_BINARIES:
        (bin_dir / name).write_text(f"#!/bin/sh\n{does}\nexit 3\n")
        (bin_dir / name).chmod(0o755)


def test_up_without_the_pulumi_cli_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")
    assert up.main(["--stack", "local"]) == 1
    err = capsys.readouterr().err
    assert "Pulumi CLI is not on PATH" in err and "get.pulumi.com" in err, err
    assert "make preview STACK=local" in err, err
    assert not tool_cache.exists() or not any(tool_cache.iterdir()), "a failed install left files"


def test_up_runs_the_cli_from_the_tool_cache(
    monkeypatch: pytest.MonkeyPatch,
    tool_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = tmp_path / "pulumi-calls.txt"
    _cached_cli(tool_cache, f'echo "$@" >> {calls}')
    monkeypatch.setenv("PATH", "")
    # Nothing answers here: reaching it would mean the cached CLI was downloaded again.
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")

    assert up.main(["--stack", "local"]) == 1

    assert calls.read_text().splitlines() == ["stack select --create local"]
    assert "select the stack failed (exit 3)" in capsys.readouterr().err


def test_up_gives_pulumi_the_projects_uv(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, tmp_path: Path
) -> None:
    """Pulumi.yaml's `toolchain: uv` makes the language host run `uv` from PATH: the one the
    Makefile installed must be there even where the machine has no uv of its own."""
    seen = tmp_path / "uv-seen-by-pulumi.txt"
    _cached_cli(tool_cache, f"command -v uv > {seen}")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")

    assert up.main(["--stack", "local"]) == 1

    assert seen.read_text().strip() == str(up.UV_BIN_DIR / "uv"), "pulumi would find no uv"


def test_up_refuses_cloud_stacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "pulumi"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert up.main(["--stack", "prod"]) == 2
    assert "deploys only the local stack" in capsys.readouterr().err


def test_up_refuses_cloud_stacks_before_installing_the_cli(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")
    assert up.main(["--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "deploys only the local stack" in err and "could not be downloaded" not in err, err
