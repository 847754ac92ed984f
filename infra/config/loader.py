"""The one place that reads `pulumi.Config`: raw stack config in, typed `StackConfig` out.

Everything is validated before a single resource is declared, so a bad stack file never
leaves a half-created environment behind.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pydantic import ValidationError

from infra.config.errors import ConfigError
from infra.config.model import StackConfig
from infra.config.secrets import (
    ALERT_SLACK_WEBHOOK_URL,
    ALERT_SMTP_PASSWORD,
    ALERT_WEBHOOK_URL,
    API_KEYS,
    GRAFANA_ADMIN_PASSWORD,
    GRAFANA_SSO_CLIENT_SECRET,
    RETRAIN_WEBHOOK_TOKEN,
    SECRETS,
    AlertSecrets,
    ClusterSecrets,
    SecretSpec,
    StackSecrets,
)

PROJECT = "mlops-platform"
AWS = "aws"


def stack_file() -> str:
    return f"Pulumi.{pulumi.get_stack()}.yaml"


def _raw_config() -> dict[str, Any]:
    # The SDK keeps the stack's config in one map (set by the engine, or by synth's mock
    # runtime); pulumi.Config offers no way to list keys, and listing is what catches typos.
    merged: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    merged.update(pulumi.runtime.config.CONFIG.get())
    return merged


def _parse(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def _sectioned(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Group `ns:key` entries into the StackConfig shape; report keys of unknown namespaces."""
    data: dict[str, Any] = {AWS: {}}
    secret_keys = {spec.key for spec in SECRETS}
    problems: list[str] = []
    for full_key, value in sorted(raw.items()):
        namespace, _, key = full_key.partition(":")
        if namespace == AWS:
            data[AWS][key] = _parse(value)
        elif namespace == PROJECT and key not in secret_keys:
            data[key] = _parse(value)
        elif namespace not in (PROJECT, "pulumi", "kubernetes"):
            problems.append(
                f"{stack_file()}: {full_key} is not a key this project reads; "
                f"use {PROJECT}:<section> or {AWS}:<setting>"
            )
    return data, problems


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error["loc"]]
    namespace = AWS if location[:1] == [AWS] else PROJECT
    key = ".".join(location[1:] if namespace == AWS else location)
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] == "missing":
        return f"{stack_file()}: {namespace}:{key} is required; add it to the stack file"
    if error["type"] == "extra_forbidden":
        return (
            f"{stack_file()}: {namespace}:{key} is not a known setting; "
            "check its spelling against docs/config-reference.md"
        )
    if isinstance(value, dict | list) or not key:
        target = f"{namespace}:{key}" if key else f"{namespace} config"
        return f"{stack_file()}: {target}: {message}"
    return f"{stack_file()}: {namespace}:{key}={json.dumps(value)} {message}"


def _validate(data: dict[str, Any]) -> StackConfig:
    environment = data.get("environment")
    try:
        return StackConfig.model_validate(data, context={"environment": environment})
    except ValidationError as exc:
        raise ConfigError([_describe(dict(error)) for error in exc.errors()]) from None


def _read_secrets(config: StackConfig) -> tuple[dict[SecretSpec, pulumi.Output[str]], list[str]]:
    project_config = pulumi.Config(PROJECT)
    problems: list[str] = []
    values: dict[SecretSpec, pulumi.Output[str]] = {}
    for spec in SECRETS:
        full_key = f"{PROJECT}:{spec.key}"
        present = pulumi.runtime.get_config(full_key) is not None
        if present and not pulumi.runtime.is_config_secret(full_key):
            problems.append(
                f"{stack_file()}: {full_key} is stored in plain text; remove it and run "
                f"`pulumi config set --secret {full_key} <value>`"
            )
        elif present:
            values[spec] = project_config.require_secret(spec.key)
        elif spec.needs_cluster and config.cluster.enabled:
            problems.append(
                f"{stack_file()}: {full_key} ({spec.purpose}) is required when the cluster is "
                f"enabled; run `pulumi config set --secret {full_key} <value>`"
            )
    return values, problems


def _receiver_problems(config: StackConfig, present: set[SecretSpec]) -> list[str]:
    """A receiver `monitoring.receivers` turns on needs the secret it sends with."""
    if not config.monitoring.enabled:
        return []
    return [
        f"{stack_file()}: {PROJECT}:{spec.key} is required by monitoring.receivers; run "
        f"`pulumi config set --secret {PROJECT}:{spec.key} <value>` or turn that receiver off"
        for spec in config.monitoring.receivers.required_secrets
        if spec not in present
    ]


def _sso_problems(config: StackConfig, present: set[SecretSpec]) -> list[str]:
    """Grafana's single sign-on needs its client secret."""
    if not config.monitoring.enabled or config.monitoring.grafana.sso is None:
        return []
    if GRAFANA_SSO_CLIENT_SECRET in present:
        return []
    key = f"{PROJECT}:{GRAFANA_SSO_CLIENT_SECRET.key}"
    return [
        f"{stack_file()}: {key} is required by monitoring.grafana.sso; run "
        f"`pulumi config set --secret {key} <client secret>` or remove grafana.sso"
    ]


def _secrets(config: StackConfig) -> StackSecrets:
    values, problems = _read_secrets(config)
    problems += _receiver_problems(config, set(values))
    problems += _sso_problems(config, set(values))
    if problems:
        raise ConfigError(problems)
    cluster = (
        ClusterSecrets(
            api_keys=values[API_KEYS],
            grafana_admin_password=values[GRAFANA_ADMIN_PASSWORD],
            retrain_webhook_token=values[RETRAIN_WEBHOOK_TOKEN],
            grafana_sso_client_secret=values.get(GRAFANA_SSO_CLIENT_SECRET),
        )
        if config.cluster.enabled
        else None
    )
    alerts = AlertSecrets(
        webhook_url=values.get(ALERT_WEBHOOK_URL),
        slack_webhook_url=values.get(ALERT_SLACK_WEBHOOK_URL),
        smtp_password=values.get(ALERT_SMTP_PASSWORD),
    )
    return StackSecrets(cluster=cluster, alerts=alerts)


def load_stack_config() -> tuple[StackConfig, StackSecrets]:
    """Read and validate the current stack's config; raise ConfigError listing every problem."""
    data, problems = _sectioned(_raw_config())
    if problems:
        raise ConfigError(problems)
    config = _validate(data)
    return config, _secrets(config)
