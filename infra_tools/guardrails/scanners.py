"""External scanners over the synthesized output: checkov (manifests, Dockerfiles) and hadolint.

Each skip is declared once, with its reason, in scan-skips.yaml; a scanner finding that is
not listed there is a failure.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra_tools.inputs import as_list, mapping
from infra_tools.synth.stackfile import PROJECT_ROOT

SKIPS = Path(__file__).with_name("scan-skips.yaml")
CHECKOV = PROJECT_ROOT / ".cache" / "checkov" / "bin" / "checkov"
HADOLINT = PROJECT_ROOT / ".venv" / "bin" / "hadolint"


class ScannerMissingError(RuntimeError):
    """A scanner binary is not installed."""


@dataclass(frozen=True)
class ScanFinding:
    scanner: str
    check: str
    target: str
    message: str


def skips() -> dict[str, dict[str, str]]:
    """scanner -> {check id: reason}."""
    document = mapping(yaml.safe_load(SKIPS.read_text()))
    return {
        scanner: {
            str(mapping(entry).get("id")): str(mapping(entry).get("reason"))
            for entry in as_list(entries)
        }
        for scanner, entries in document.items()
    }


def _require(binary: Path, install: str) -> str:
    if not binary.is_file():
        raise ScannerMissingError(f"{binary.name} is not installed at {binary}; run `{install}`")
    return str(binary)


def checkov(directory: Path, framework: str) -> list[ScanFinding]:
    """checkov over `directory` (framework kubernetes or dockerfile), offline."""
    binary = _require(CHECKOV, "make checkov")
    skipped = ",".join(skips().get("checkov", {}))
    command = [
        binary,
        "--quiet",
        "--compact",
        "--skip-download",
        "-o",
        "json",
        "--framework",
        framework,
        "-d",
        str(directory),
    ]
    if skipped:
        command += ["--skip-check", skipped]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}")
    if not done.stdout.strip() or done.stdout.strip() == "[]":
        return []
    failed = [
        mapping(item)
        for report in as_list(json.loads(done.stdout))
        for item in as_list(mapping(mapping(report).get("results")).get("failed_checks"))
    ]
    return [
        ScanFinding(
            "checkov",
            str(item["check_id"]),
            f"{item['file_path']} {item.get('resource', '')}",
            str(item["check_name"]),
        )
        for item in failed
    ]


def hadolint(dockerfile: Path) -> list[ScanFinding]:
    binary = _require(HADOLINT, "make venv")
    command = [binary, "--format", "json", "--no-fail"]
    for rule in skips().get("hadolint", {}):
        command += ["--ignore", rule]
    done = subprocess.run([*command, str(dockerfile)], capture_output=True, text=True, check=False)  # noqa: S603
    findings: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return [
        ScanFinding("hadolint", item["code"], f"{dockerfile}:{item['line']}", item["message"])
        for item in findings
        if item["level"] in ("error", "warning")
    ]
