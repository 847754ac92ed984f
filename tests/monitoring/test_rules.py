"""Alert rules: valid for promtool, unit-tested, and each one documented with a runbook."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.components import assets
from infra.components import monitoring_files as files

TESTS_DIR = assets.RULE_TESTS_DIR
DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
REQUIRED_ALERTS = {
    "ServingHighErrorRate",
    "ServingLatencySLOBurn",
    "ModelNotReady",
    "ModelDataDrift",
    "LiveAccuracyDrop",
    "GpuNodeIdle",
    "TrainingJobFailed",
    "PodCrashLooping",
    "NoModelPromoted",
    "CaptureRecordsDropped",
    "TrackingServerDown",
    "ShadowRolloutDisagrees",
    "ShadowVersionFailing",
}


def _alerts() -> list[dict[str, Any]]:
    return [
        rule
        for path in files.rule_files()
        for group in files.read_yaml(path)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.promtool
@pytest.mark.parametrize("path", files.rule_files(), ids=lambda p: p.name)
def test_rule_file_passes_promtool_check(promtool: str, path: Path) -> None:
    result = _run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"


@pytest.mark.promtool
@pytest.mark.parametrize("path", sorted(TESTS_DIR.glob("*.test.yaml")), ids=lambda p: p.name)
def test_rule_unit_tests_pass(promtool: str, path: Path) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", path.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=TESTS_DIR,
    )
    assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"


def test_every_required_alert_is_defined() -> None:
    missing = REQUIRED_ALERTS - {str(rule["alert"]) for rule in _alerts()}
    assert not missing, f"alerts missing from {assets.RULES_DIR}: {sorted(missing)}"


def _unit_cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(test, alert_rule_test entry) pairs of every promtool unit-test file."""
    return [
        (test, case)
        for path in sorted(TESTS_DIR.glob("*.test.yaml"))
        for test in files.read_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
    ]


@pytest.mark.parametrize("rule", _alerts(), ids=lambda r: str(r["alert"]))
def test_alert_fires_on_a_bad_series_and_stays_silent_on_a_good_one(rule: dict[str, Any]) -> None:
    """A case must expect it firing while a good series is present, or expect silence."""
    cases = [(t, c) for t, c in _unit_cases() if c["alertname"] == rule["alert"]]
    firing = [(t, c) for t, c in cases if c.get("exp_alerts")]
    assert firing, f"{rule['alert']}: no promtool unit test expects it to fire"
    silent = [c for _, c in cases if not c.get("exp_alerts")] + [
        c for t, c in firing if len(t["input_series"]) > len(c["exp_alerts"])
    ]
    assert silent, f"{rule['alert']}: no promtool unit test shows it silent on a good series"


@pytest.mark.parametrize("rule", _alerts(), ids=lambda r: str(r["alert"]))
def test_alert_has_severity_summary_value_and_runbook(rule: dict[str, Any]) -> None:
    name = str(rule["alert"])
    labels = rule.get("labels") or {}
    annotations = rule.get("annotations") or {}
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels.get("severity") in {"critical", "warning"}, f"{name}: severity"
    assert annotations.get("summary"), f"{name}: summary"
    assert "$value" in str(annotations.get("description", "")), f"{name}: value in description"
    runbook = str(annotations.get("runbook_url", ""))
    assert runbook == f"{files.RUNBOOK_PREFIX}#{name.lower()}", f"{name}: runbook_url {runbook}"


@pytest.mark.parametrize("rule", _alerts(), ids=lambda r: str(r["alert"]))
def test_alert_has_a_runbook_section_in_the_docs(rule: dict[str, Any]) -> None:
    headings = re.findall(r"^#+\s+(\S+)\s*$", DOCS.read_text(), re.M)
    assert str(rule["alert"]) in headings, f"docs/monitoring.md has no section {rule['alert']}"


def test_model_not_ready_spares_exactly_the_apps_empty_registry_reason() -> None:
    """The rule's label value must be the one the app sets while nothing is promoted yet, or
    every fresh stack pages someone while its first model trains."""
    from app.serving.model import NO_MODEL_PROMOTED

    (rule,) = [r for r in _alerts() if r["alert"] == "ModelNotReady"]
    assert f'mlops_model_load_error{{reason="{NO_MODEL_PROMOTED}"}}' in str(rule["expr"])
