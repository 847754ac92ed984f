"""`python -m app.trigger`: serve the retrain webhook inside the cluster."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from app.logs import configure_logging
from app.serving.server import TRIGGER_LIMITS, run
from app.trigger.api import create_app
from app.trigger.jobs import RetrainLauncher
from app.trigger.kube import KubernetesApi
from app.trigger.settings import TriggerSettings

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
    launcher = RetrainLauncher(
        api, settings.namespace, settings.cronjob, settings.dedupe_window_seconds
    )
    log.info(
        "retrain trigger starting",
        extra={"namespace": settings.namespace, "cronjob": settings.cronjob},
    )
    run(create_app(token, launcher), settings.host, settings.port, TRIGGER_LIMITS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
