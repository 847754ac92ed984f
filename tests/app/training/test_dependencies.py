"""The training libraries stay out of the serving image: it installs the project's own
dependencies from uv.lock, without the `train` extra (app/Dockerfile, deps-serve)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[3] / "uv.lock"
PROJECT = "mlops-platform"
TRAINING_ONLY = {"scikit-learn", "skl2onnx", "torch", "mlflow-skinny"}


def _packages() -> dict[str, dict[str, Any]]:
    lock = tomllib.loads(LOCK.read_text())
    return {package["name"]: package for package in lock["package"]}


def _closure(packages: dict[str, dict[str, Any]], roots: list[dict[str, Any]]) -> set[str]:
    """Every package the roots pull in (markers ignored: a superset of any one platform's)."""
    seen: set[str] = set()
    pending = [root["name"] for root in roots]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += [dep["name"] for dep in packages[name].get("dependencies", [])]
    return seen


def test_the_serving_install_holds_no_training_library() -> None:
    packages = _packages()
    serving = _closure(packages, packages[PROJECT]["dependencies"])
    assert "onnxruntime" in serving, "the closure follows the project's dependencies"
    assert serving.isdisjoint(TRAINING_ONLY), sorted(serving & TRAINING_ONLY)


def test_the_train_extra_brings_both_families_and_their_exporters() -> None:
    packages = _packages()
    train = _closure(packages, packages[PROJECT]["optional-dependencies"]["train"])
    assert TRAINING_ONLY | {"onnx"} <= train, sorted(TRAINING_ONLY - train)
