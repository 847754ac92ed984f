"""Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to the program."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from infra.config import PROJECT, SECRETS, ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Offline there is no secrets provider to decrypt `secure:` values; the program sees this
# placeholder, still marked secret, so secret handling is exercised exactly as in a deploy.
SECRET_PLACEHOLDER = "synth-placeholder-secret"  # noqa: S105 - not a credential


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    config: dict[str, str]
    secret_keys: list[str]
    notices: list[str]


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml"))


def _as_config_string(value: Any) -> str:
    # The engine passes scalars as strings and objects/lists as JSON text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _mask_secure(value: Any) -> tuple[Any, bool]:
    """Replace every `{secure: ...}` value with the placeholder; say whether there was one."""
    if isinstance(value, dict):
        mapping = cast(dict[str, Any], value)
        if set(mapping) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        pairs = {key: _mask_secure(item) for key, item in mapping.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_mask_secure(item) for item in cast(list[Any], value)]
        return [item for item, _ in items], any(s for _, s in items)
    return value, False


def read_stack_file(stack: str, root: Path = PROJECT_ROOT) -> StackFile:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise ConfigError(
            [f"--stack {stack}: there is no Pulumi.{stack}.yaml; known stacks: {known}"]
        )
    try:
        document: Any = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path.name}: is not valid YAML ({exc}); fix the syntax"]) from None
    raw: Any = cast(dict[str, Any], document).get("config") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise ConfigError([f"{path.name}: needs a 'config:' mapping of key: value"])
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in cast(dict[str, Any], raw).items():
        if ":" not in str(key):
            raise ConfigError(
                [f"{path.name}: config key {key!r} has no namespace; write mlops-platform:{key}"]
            )
        masked, is_secret = _mask_secure(value)
        config[key] = _as_config_string(masked)
        if is_secret:
            secret_keys.append(key)
    notices: list[str] = []
    for spec in SECRETS:
        key = f"{PROJECT}:{spec.key}"
        if key not in config:
            # A fresh clone has no secrets; synth shows the graph anyway, a deploy still
            # demands the real value (the config loader says how to set it).
            config[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
            notices.append(f"{key} is not set in {path.name}; synth uses a placeholder secret")
    return StackFile(stack, path, config, secret_keys, notices)
