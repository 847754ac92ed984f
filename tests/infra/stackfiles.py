"""Build temporary copies of the stack files with one value changed, for config-error tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from infra_tools.synth.stackfile import PROJECT_ROOT


def stack_root_with(tmp_path: Path, stack: str, changes: dict[str, Any]) -> Path:
    """Copy Pulumi.<stack>.yaml into `tmp_path`, apply `changes` to its config, return the root.

    A key `"mlops-platform:network.azCount"` sets a nested value, `"...app.models.1.name"` one
    in a list entry; a value of None removes it.
    """
    source = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    document = yaml.safe_load(source.read_text())
    config = document["config"]
    for dotted, value in changes.items():
        key, *path = dotted.split(".")
        if not path:
            _assign(config, key, value)
            continue
        node: Any = config.setdefault(key, {})
        for part in path[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if path[-1].isdigit():
            node[int(path[-1])] = value
        else:
            _assign(node, path[-1], value)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def _assign(node: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        node.pop(key, None)
    else:
        node[key] = value
