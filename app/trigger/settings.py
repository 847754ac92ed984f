"""Settings of the retrain trigger, read from `MLOPS_TRIGGER_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where the kubelet mounts the pod's service-account token, CA and namespace.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class TriggerSettings(BaseSettings):
    """Every setting of the trigger; the env var is `MLOPS_TRIGGER_` + the field name."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_TRIGGER_", extra="ignore", frozen=True)

    token_file: Path
    """File holding the shared bearer token Alertmanager sends (a mounted Secret)."""
    namespace: str = "training"
    """Namespace of the retraining CronJob and the Jobs created from it."""
    cronjob: str = "retrain"
    """CronJob whose job template each retraining Job is created from."""
    workflow_template: str | None = None
    """WorkflowTemplate of the training pipeline (Argo Workflows); set: each retraining is a
    Workflow from it, unset: a Job from `cronjob`."""
    api_server: str = "https://kubernetes.default.svc"
    """Kubernetes API URL; the in-cluster default needs no change."""
    service_account_dir: Path = SERVICE_ACCOUNT_DIR
    """Directory with the service-account `token` and `ca.crt`."""
    dedupe_window_seconds: int = Field(default=600, ge=60, le=86_400)
    """Alerts within one window map to one Job name, so racing requests create one Job."""
    queue_url: str | None = None
    """SQS queue the model bucket notifies of new dataset objects; unset: the trigger only
    answers the webhook."""
    dataset_prefix: str = "datasets/iris/"
    """Objects under this prefix are the training data (the app's MLOPS_DATASET_PREFIX)."""
    aws_region: str = "us-east-1"
    """Region of the queue."""
    sqs_endpoint_url: str | None = None
    """SQS endpoint; unset on AWS."""
    host: str = "127.0.0.1"
    """Address to bind; the Deployment sets 0.0.0.0."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Port to listen on."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Level of the JSON logs on stderr (each retrain decision is logged at INFO)."""

    def read_token(self) -> str:
        token = self.token_file.read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise ValueError(
                f"MLOPS_TRIGGER_TOKEN_FILE={self.token_file} holds a token shorter than 16 "
                "characters; set the retrainWebhookToken secret to a long random value"
            )
        return token
