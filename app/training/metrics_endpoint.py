"""Training's `/metrics` endpoint: how Prometheus sees loss, throughput and run outcomes.

A training run is a short batch job, so it cannot rely on a scrape landing mid-run: the
endpoint stays up for `linger_seconds` after training ends. Only the primary rank serves it
(under torchrun every rank runs this code, and one port can have one listener).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Generator
from contextlib import contextmanager

from prometheus_client import start_http_server

from app.metrics import REGISTRY

log = logging.getLogger(__name__)


@contextmanager
def training_metrics_endpoint(port: int | None, linger_seconds: float) -> Generator[None]:
    if port is None or int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    server, thread = start_http_server(port, registry=REGISTRY)
    log.info("training metrics on :%d/metrics", port)
    try:
        yield
        if linger_seconds > 0:
            log.info("keeping /metrics up for %.0fs for the final scrape", linger_seconds)
            time.sleep(linger_seconds)
    finally:
        server.shutdown()
        thread.join(timeout=5)
