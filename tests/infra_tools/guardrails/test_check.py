"""`python -m infra_tools check` over the real stacks, and over a deliberately broken one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from infra_tools.commands.check import report
from infra_tools.synth import Synthesis, synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_real_stack_passes_every_mandatory_rule(
    stack: str, syntheses: dict[str, Synthesis]
) -> None:
    exit_code, text = report(syntheses[stack])
    assert exit_code == 0, f"stack {stack} breaks a mandatory guardrail:\n{text}"


def test_check_fails_on_a_prod_stack_without_access_logging(tmp_path: Path) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["mlops-platform:modelStore"]["accessLogging"] = False
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")

    exit_code, text = report(synthesize("prod", root=tmp_path), as_json_output=True)

    assert exit_code == 1
    violations = json.loads(text)["violations"]
    assert any(
        v["rule"] == "s3-access-logging-prod" and v["severity"] == "mandatory" for v in violations
    ), text


def test_check_cli_prints_a_table_and_sets_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from infra_tools.cli import main

    exit_code = main(["check", "--stack", "local"])
    out = capsys.readouterr().out
    assert "RESULT" in out and "s3-versioning" in out
    assert exit_code == (1 if "FAIL" in out else 0)
