"""bench.interleaved: checkouts measured side by side; what it refuses and what it reports."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import interleaved, loadgen

ROOT = Path(__file__).resolve().parents[2]


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        interleaved.parse(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


@pytest.fixture
def other_checkout(tmp_path: Path) -> Path:
    """A second directory that passes for a checkout (parse looks for bench/server.py only)."""
    (tmp_path / "other" / "bench").mkdir(parents=True)
    (tmp_path / "other" / "bench" / "server.py").touch()
    return tmp_path / "other"


def test_a_directory_that_is_not_a_checkout_is_named_with_the_way_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refusal([str(ROOT), str(tmp_path)], capsys)
    assert f"{tmp_path}: not a checkout of this project" in message
    assert "git worktree add" in message


def test_one_directory_under_two_names_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "same").symlink_to(ROOT)
    assert "one directory is given twice" in refusal([str(ROOT), str(tmp_path / "same")], capsys)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--rounds", "0"], "--rounds 0: must be 1 or more"),
        (["--batch", "0"], "--batch 0: must be 1 or more"),
        (["--concurrency", "0"], "--concurrency 0: must be 1 or more"),
        (["--seconds", "0"], "--seconds 0.0: must be a number above 0"),
        (["--rate", "nan"], "--rate nan: must be a number above 0"),
        (["--rate", "inf"], "--rate inf: must be a number above 0"),
        (["--json", "/no/such/directory/report.json"], "directory /no/such/directory does not"),
    ],
)
def test_bad_options_are_refused_naming_the_value(
    options: list[str],
    expected: str,
    other_checkout: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert expected in refusal([str(ROOT), *options, str(other_checkout)], capsys)


def test_one_checkout_alone_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "give two checkouts or more" in refusal([str(ROOT)], capsys)


def test_a_model_directory_is_made_absolute_and_must_hold_a_model(
    tmp_path: Path,
    other_checkout: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    argv = [str(ROOT), str(other_checkout), "--model-dir", "model"]
    message = refusal(argv, capsys)
    assert f"--model-dir {tmp_path / 'model'}: no model.onnx there" in message
    (tmp_path / "model" / "model.onnx").touch()
    # Each server runs in its own checkout: a relative path would point into each of them.
    assert interleaved.parse(argv).model_dir == tmp_path / "model"


def test_the_summary_pairs_each_round_with_the_first_checkouts_same_round() -> None:
    def figures(single: float, cpu: float) -> dict[str, float]:
        return {
            "open_p99_ms": 2.0,
            "single_req_per_s": single,
            "single_p99_ms": 9.0,
            "single_cpu_us_per_request": cpu,
            "batch_rows_per_s": 60_000.0,
        }

    # The machine slows down over the rounds; "now" is 10 % faster in every one of them.
    summary = interleaved.summarize(
        {
            "previous": [figures(5000, 200), figures(4000, 250), figures(3000, 300)],
            "now": [figures(5500, 190), figures(4400, 240), figures(3300, 280)],
        }
    )
    assert summary["previous"]["single_req_per_s"] == {
        "median": 4000, "min": 3000, "max": 5000,
        "ratio_to_first": 1.0, "ratio_to_first_min": 1.0, "ratio_to_first_max": 1.0,
    }  # fmt: skip
    now = summary["now"]
    assert (now["single_req_per_s"]["median"], now["single_req_per_s"]["ratio_to_first"]) == (
        4400,
        1.1,
    )
    assert now["single_req_per_s"]["ratio_to_first_min"] == 1.1
    cpu = now["single_cpu_us_per_request"]
    assert (cpu["difference_to_first"], cpu["difference_to_first_min"]) == (-10, -20)
    assert "ratio_to_first" not in cpu


@pytest.mark.slow
def test_two_checkouts_are_served_at_once_each_from_its_own_code(tmp_path: Path) -> None:
    # A second checkout: a copy of what the server imports, whose server leaves a mark.
    other = tmp_path / "other-checkout"
    for package in ("app", "bench"):
        shutil.copytree(ROOT / package, other / package, ignore=shutil.ignore_patterns("*.pyc"))
    server = other / "bench" / "server.py"
    mark = other / "started-here"
    future = "from __future__ import annotations\n"
    server.write_text(
        server.read_text().replace(future, f"{future}open({str(mark)!r}, 'w').close()\n", 1)
    )
    report = tmp_path / "report.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.interleaved", str(ROOT), str(other),
         "--rounds", "2", "--seconds", "0.3", "--rate", "200", "--json", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    assert mark.exists(), "the second checkout's server was not the one started"
    written = json.loads(report.read_text())
    assert set(written["rounds"]) == {str(ROOT), str(other)}
    for rounds in written["rounds"].values():
        assert len(rounds) == 2
        assert all(r["single_req_per_s"] > 0 and r["batch_rows_per_s"] > 0 for r in rounds)
    assert json.loads(finished.stdout) == written["summary"]


def test_a_phase_with_failed_or_unsent_requests_stops_the_run_naming_where() -> None:
    with pytest.raises(
        SystemExit, match=r"\.\./previous: 3 failed and 0 unsent requests in the batch"
    ):
        interleaved._without_failures("../previous", "batch", {"errors": 3.0, "p99_ms": 9.0})
    with pytest.raises(SystemExit, match="0 failed and 12 unsent requests in the open loop"):
        interleaved._without_failures("now", "open loop", {"errors": 0.0, "unsent": 12.0})
    interleaved._without_failures("now", "single", {"errors": 0.0, "unsent": 0.0})


def test_a_phase_where_every_request_failed_still_has_figures() -> None:
    figures = loadgen._stats([], ["HTTP 401"], elapsed=1.0)
    assert (figures["requests"], figures["errors"]) == (0, 1)
    assert math.isnan(figures["p99_ms"])
