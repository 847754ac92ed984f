"""Session-wide fixtures: the embedded AWS (LocalStack) and AWS client helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devtools import localstack
from tests.ports import free_port

REGION = "us-east-1"


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint_url: str
    region: str = REGION

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="session")
def embedded_aws() -> Iterator[EmbeddedAws]:
    """LocalStack on a free loopback port for the whole session, stopped by PID at the end.

    Set MLOPS_TEST_AWS_ENDPOINT to reuse an already running LocalStack instead.
    """
    reuse = os.environ.get("MLOPS_TEST_AWS_ENDPOINT")
    if reuse:
        yield EmbeddedAws(reuse)
        return
    try:
        running = localstack.start(free_port())
    except localstack.LocalStackError as exc:
        pytest.fail(f"these tests need the embedded AWS: {exc}", pytrace=False)
    try:
        yield EmbeddedAws(running.endpoint_url)
    finally:
        localstack.stop(running.pid)
