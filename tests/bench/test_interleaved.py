"""bench.interleaved: checkouts measured side by side; what it refuses and what it reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import interleaved

ROOT = Path(__file__).resolve().parents[2]


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        interleaved.parse(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_a_directory_that_is_not_a_checkout_is_named_with_the_way_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refusal([str(ROOT), str(tmp_path)], capsys)
    assert f"{tmp_path}: not a checkout of this project" in message
    assert "git worktree add" in message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "give two checkouts or more"),
        ([str(ROOT)], "a checkout is given twice"),
        (["--rounds", "0", "."], "--rounds, --batch and --concurrency must be >= 1"),
        (["--seconds", "0", "."], "--seconds and --rate > 0"),
    ],
)
def test_bad_arguments_are_refused_with_the_rule(
    extra: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    assert expected in refusal([str(ROOT), *extra], capsys)


def test_the_summary_gives_each_checkouts_medians_range_and_ratio_to_the_first() -> None:
    def figures(single: float, cpu: float) -> dict[str, float]:
        return {
            "open_p99_ms": 2.0,
            "single_req_per_s": single,
            "single_cpu_us_per_request": cpu,
            "batch_rows_per_s": 60_000.0,
        }

    summary = interleaved.summarize(
        {
            "previous": [figures(4000, 250), figures(5000, 200), figures(4500, 220)],
            "now": [figures(6000, 160), figures(5000, 200), figures(4000, 240)],
        }
    )
    assert summary["previous"]["single_req_per_s"] == {
        "median": 4500, "min": 4000, "max": 5000, "ratio_to_first": 1.0,
    }  # fmt: skip
    assert summary["now"]["single_req_per_s"]["ratio_to_first"] == round(5000 / 4500, 3)
    assert summary["now"]["single_cpu_us_per_request"]["median"] == 200
    assert summary["now"]["batch_rows_per_s"]["ratio_to_first"] == 1.0


def test_two_checkouts_are_served_at_once_and_both_measured(tmp_path: Path) -> None:
    # The same code under a second name: a checkout is whatever directory holds the project.
    other = tmp_path / "other-checkout"
    other.symlink_to(ROOT)
    report = tmp_path / "report.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.interleaved", str(ROOT), str(other),
         "--rounds", "2", "--seconds", "0.3", "--rate", "200", "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    written = json.loads(report.read_text())
    assert set(written["rounds"]) == {str(ROOT), str(other)}
    for rounds in written["rounds"].values():
        assert len(rounds) == 2
        assert all(r["single_req_per_s"] > 0 and r["batch_rows_per_s"] > 0 for r in rounds)
    assert json.loads(finished.stdout) == written["summary"]
