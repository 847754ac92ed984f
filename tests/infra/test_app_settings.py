"""Values a stack file hands the app's pods are judged by the app's own settings classes, in
the loader: a value the pods would refuse at start stops the stack before anything exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from app.trigger.settings import TriggerSettings
from infra.components.workloads.settings_env import settings_env
from infra.config import ConfigError
from infra_tools.synth import synthesize
from tests.infra.program import declare
from tests.infra.stackfiles import stack_root_with

APP = "mlops-platform:app"
WINE = f"{APP}.models.1"
"""dev's second model, wine-classifier: a model's keys are judged wherever it is listed."""
NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$"


def problems_for(tmp_path: Path, key: str, value: str) -> list[str]:
    root = stack_root_with(tmp_path, "dev", {f"{APP}.{key}": value})
    with pytest.raises(ConfigError) as raised:
        synthesize("dev", root)
    return raised.value.problems


@pytest.mark.parametrize(
    ("key", "value", "variable", "example"),
    [
        ("models.1.alias", "Production", "MLOPS_MODEL_ALIAS", "production"),
        ("models.1.alias", "../x", "MLOPS_MODEL_ALIAS", "production"),
        ("models.1.name", "Wine_Classifier", "MLOPS_MODEL_NAME", "iris-classifier"),
    ],
)
def test_a_model_name_or_alias_the_app_refuses_names_key_value_rule_and_fix(
    tmp_path: Path, key: str, value: str, variable: str, example: str
) -> None:
    assert problems_for(tmp_path, key, value) == [
        f'Pulumi.dev.yaml: {APP}.{key}="{value}" is refused by the app ({variable}={value}: '
        f"String should match pattern '{NAME_PATTERN}'), so its pods would crash-loop at "
        f'start; use a value matching {NAME_PATTERN}, e.g. "{example}"'
    ]


@pytest.mark.parametrize(
    ("limit", "mib", "rule", "fix"),
    [
        ("64Mi", 64, "Input should be greater than or equal to 128", "use at least 128Mi"),
        ("100M", 96, "Input should be greater than or equal to 128", "use at least 128Mi"),
        ("2Ti", 2097152, "Input should be less than or equal to 1048576", "use at most 1048576Mi"),
    ],
)
def test_a_serving_memory_limit_the_app_refuses_is_rejected(
    tmp_path: Path, limit: str, mib: int, rule: str, fix: str
) -> None:
    """The server reads its own limit (MLOPS_MEMORY_LIMIT_MIB, in MiB rounded up)."""
    assert problems_for(tmp_path, "models.1.resources.memoryLimit", limit) == [
        f'Pulumi.dev.yaml: {WINE}.resources.memoryLimit="{limit}" is refused by the app '
        f"(MLOPS_MEMORY_LIMIT_MIB={mib}: {rule}), so its pods would crash-loop at start; {fix}"
    ]


def test_the_training_memory_limit_is_not_the_servers(tmp_path: Path) -> None:
    """Training pods are not told their limit; a small one there is no app setting."""
    root = stack_root_with(tmp_path, "dev", {f"{APP}.training.resources.memoryLimit": "64Mi"})
    assert synthesize("dev", root).stack == "dev"


def test_a_refused_app_value_declares_nothing(tmp_path: Path) -> None:
    run = declare("dev", stack_root_with(tmp_path, "dev", {f"{WINE}.alias": "Production"}))
    assert run.error is not None and "MLOPS_MODEL_ALIAS" in str(run.error)
    assert run.declared == [], f"declared before the error: {[d.name for d in run.declared]}"


def test_a_constant_the_app_refuses_fails_the_synth() -> None:
    with pytest.raises(ValueError, match=r"Settings refuses MLOPS_PORT=0: Input should be"):
        settings_env({"port": "0"}, Settings)
    with pytest.raises(ValueError, match=r"MLOPS_TRIGGER_DEDUPE_WINDOW_SECONDS=5"):
        settings_env({"dedupe_window_seconds": "5", "port": "8080"}, TriggerSettings)


def test_a_field_the_app_lacks_fails_the_synth() -> None:
    with pytest.raises(ValueError, match="Settings has no field 'model_version'"):
        settings_env({"model_version": "3"}, Settings)
