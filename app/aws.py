"""The S3 and SQS clients, built from settings so the same code talks to AWS or LocalStack."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from app.settings import Settings

# Short timeouts: a poll that cannot reach the bucket must give up quickly and keep serving.
_CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
)


def s3_client(settings: Settings) -> Any:
    # A session of its own: boto3's module-level default session caches the credentials it
    # first found for the whole process, so later environment changes would be ignored.
    return boto3.session.Session().client(  # pyright: ignore[reportUnknownMemberType] - one overload per service
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.aws_region,
        config=_CLIENT_CONFIG,
    )


# A long poll waits up to 20 s for a message: the read timeout must outlast it.
_QUEUE_CONFIG = Config(
    connect_timeout=3, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
)


def sqs_client(settings: Settings) -> Any:
    """The SQS client of `data watch` (the queue the bucket notifies of new data)."""
    # The type stubs cover the services this package lists (SQS is not one): Any here.
    session: Any = boto3.session.Session()
    return session.client(
        "sqs",
        endpoint_url=settings.sqs_endpoint_url,
        region_name=settings.aws_region,
        config=_QUEUE_CONFIG,
    )
