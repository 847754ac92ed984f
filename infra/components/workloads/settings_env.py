"""Container env built from the app's own settings class, so names can never drift apart.

`app.settings.Settings` is the one source of truth: every variable here is `env_prefix` +
a field name of that class, and naming a field it lacks fails the synth at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s
from pydantic_settings import BaseSettings

from app.settings import Settings


def env_name(field: str, settings: type[BaseSettings] = Settings) -> str:
    """`MLOPS_MODEL_NAME` for `model_name`; ValueError if the class has no such field."""
    if field not in settings.model_fields:
        raise ValueError(
            f"{settings.__name__} has no field {field!r}; the container env may only carry "
            f"the app's settings ({', '.join(sorted(settings.model_fields))})"
        )
    prefix = str(settings.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


def settings_env(
    values: Mapping[str, pulumi.Input[str]], settings: type[BaseSettings] = Settings
) -> list[k8s.core.v1.EnvVarArgs]:
    """One EnvVar per settings field, in a stable order."""
    return [
        k8s.core.v1.EnvVarArgs(name=env_name(field, settings), value=value)
        for field, value in sorted(values.items())
    ]


def memory_limit_env(
    container: str, settings: type[BaseSettings] = Settings
) -> k8s.core.v1.EnvVarArgs:
    """`MLOPS_MEMORY_LIMIT_MIB` from the container's own memory limit (downward API), so the
    app's memory-derived bounds (e.g. pending predictions) follow the stack's resources."""
    return k8s.core.v1.EnvVarArgs(
        name=env_name("memory_limit_mib", settings),
        value_from=k8s.core.v1.EnvVarSourceArgs(
            resource_field_ref=k8s.core.v1.ResourceFieldSelectorArgs(
                container_name=container, resource="limits.memory", divisor="1Mi"
            )
        ),
    )
