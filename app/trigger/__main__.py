"""`python -m app.trigger`: serve the retrain webhook inside the cluster."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from pydantic import ValidationError

from app.logs import configure_logging
from app.serving.server import TRIGGER_LIMITS, run
from app.trigger.api import create_app
from app.trigger.dataset_events import DatasetEventConsumer, consume_forever
from app.trigger.jobs import Launcher, RetrainLauncher
from app.trigger.kube import KubernetesApi
from app.trigger.settings import TriggerSettings
from app.trigger.workflows import WorkflowLauncher

log = logging.getLogger("app.trigger")


def main() -> int:
    try:
        settings = TriggerSettings()  # pyright: ignore[reportCallIssue] - fields come from env
        token = settings.read_token()
    except ValidationError as exc:
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"]).upper()
            print(f"error: MLOPS_TRIGGER_{field}: {error['msg']}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    account = settings.service_account_dir
    ca_file = account / "ca.crt"
    api = KubernetesApi(
        settings.api_server, account / "token", ca_file if ca_file.is_file() else None
    )
    launcher: Launcher = (
        WorkflowLauncher(
            api, settings.namespace, settings.workflow_template, settings.dedupe_window_seconds
        )
        if settings.workflow_template
        else RetrainLauncher(
            api, settings.namespace, settings.cronjob, settings.dedupe_window_seconds
        )
    )
    log.info(
        "retrain trigger starting",
        extra={"namespace": settings.namespace, "cronjob": settings.cronjob},
    )
    stop = threading.Event()
    if settings.queue_url:
        _watch_datasets(settings, launcher, stop)
    try:
        run(create_app(token, launcher), settings.host, settings.port, TRIGGER_LIMITS)
    finally:
        stop.set()
    return 0


def _watch_datasets(settings: TriggerSettings, launcher: Launcher, stop: threading.Event) -> None:
    """New data in the bucket starts a retraining too (the webhook's launcher: one Job at a
    time, whoever asks)."""
    import boto3

    assert settings.queue_url is not None
    session: Any = boto3.session.Session()
    sqs = session.client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.sqs_endpoint_url
    )
    consumer = DatasetEventConsumer(sqs, settings.queue_url, settings.dataset_prefix, launcher)
    threading.Thread(
        target=consume_forever, args=(consumer, stop), name="dataset-events", daemon=True
    ).start()
    log.info("watching for new data", extra={"queue": settings.queue_url})


if __name__ == "__main__":
    sys.exit(main())
