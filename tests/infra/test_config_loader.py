"""The config loader: every bad stack file is rejected, naming file, key, value, rule and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError
from infra_tools.synth import synthesize
from tests.infra.stackfiles import stack_root_with


def problems_for(tmp_path: Path, stack: str, changes: dict[str, Any]) -> list[str]:
    root = stack_root_with(tmp_path, stack, changes)
    with pytest.raises(ConfigError) as raised:
        synthesize(stack, root)
    return raised.value.problems


def test_misspelled_key_is_rejected_not_ignored(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops-platform:network.azCont": 2})
    assert problems == [
        "Pulumi.dev.yaml: mlops-platform:network.azCont is not a known setting; "
        "check its spelling against docs/config-reference.md"
    ]


def test_unknown_namespace_is_rejected(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops:owner": "x"})
    assert problems == [
        "Pulumi.dev.yaml: mlops:owner is not a key this project reads; "
        "use mlops-platform:<section> or aws:<setting>"
    ]


def test_missing_required_key_says_to_add_it(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops-platform:owner": None})
    assert problems == [
        "Pulumi.dev.yaml: mlops-platform:owner is required; add it to the stack file"
    ]


def test_wrong_type_names_value_and_rule(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops-platform:network.azCount": "two"})
    assert len(problems) == 1
    assert problems[0].startswith('Pulumi.dev.yaml: mlops-platform:network.azCount="two" ')


def test_bad_region_names_the_aws_key(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "prod", {"aws:region": "mars-1"})
    assert problems == [
        'Pulumi.prod.yaml: aws:region="mars-1" is not an AWS region name; use e.g. us-east-1'
    ]


def test_plaintext_secret_is_refused_with_the_command_to_fix_it(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops-platform:apiKeys": "hunter2"})
    assert problems == [
        "Pulumi.dev.yaml: mlops-platform:apiKeys is stored in plain text; remove it and run "
        "`pulumi config set --secret mlops-platform:apiKeys <value>`"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_for(
        tmp_path,
        "prod",
        {"mlops-platform:network.azCount": 1, "mlops-platform:network.cidr": "8.8.0.0/16"},
    )
    assert len(problems) == 2, problems


def test_unknown_environment_lists_the_choices(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "dev", {"mlops-platform:environment": "qa"})
    assert len(problems) == 1
    assert problems[0].startswith('Pulumi.dev.yaml: mlops-platform:environment="qa" ')
    assert "'dev', 'prod' or 'local'" in problems[0]


def test_a_failed_synthesis_leaves_nothing_behind_for_the_next(tmp_path: Path) -> None:
    problems_for(tmp_path, "dev", {"mlops-platform:owner": None})
    assert synthesize("local").outputs["environment"] == "local"
