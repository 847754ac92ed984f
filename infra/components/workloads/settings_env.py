"""Container env built from the app's own settings class, so names and values never drift.

`app.settings.Settings` (and the trigger's `TriggerSettings`) is the one source of truth: every
variable here is `env_prefix` + a field name of that class, and naming a field it lacks, or a
plain value its field refuses, fails the synth at once. Values from the stack file were judged
by the same classes in the config loader already (infra/app_settings.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s
from pydantic_settings import BaseSettings

from app.settings import Settings
from infra.app_settings import env_name, refusals


def settings_env(
    values: Mapping[str, pulumi.Input[str]], settings: type[BaseSettings] = Settings
) -> list[k8s.core.v1.EnvVarArgs]:
    """One EnvVar per settings field, in a stable order."""
    # Outputs are known only at deploy time; every plain value is judged now.
    known = {field: value for field, value in values.items() if isinstance(value, str)}
    refused = refusals(settings, known)
    if refused:
        raise ValueError(f"{settings.__name__} refuses {', '.join(map(str, refused))}")
    return [
        k8s.core.v1.EnvVarArgs(name=env_name(settings, field), value=value)
        for field, value in sorted(values.items())
    ]


def memory_limit_env(
    container: str, settings: type[BaseSettings] = Settings
) -> k8s.core.v1.EnvVarArgs:
    """`MLOPS_MEMORY_LIMIT_MIB` from the container's own memory limit (downward API), so the
    app's memory-derived bounds (e.g. pending predictions) follow the stack's resources."""
    return k8s.core.v1.EnvVarArgs(
        name=env_name(settings, "memory_limit_mib"),
        value_from=k8s.core.v1.EnvVarSourceArgs(
            resource_field_ref=k8s.core.v1.ResourceFieldSelectorArgs(
                container_name=container, resource="limits.memory", divisor="1Mi"
            )
        ),
    )
