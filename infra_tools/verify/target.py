"""The actual side: where the stack lives (region, endpoint, credentials) and its AWS clients.

Clients use short timeouts and few retries, so an unreachable endpoint is reported in
seconds instead of after botocore's default minute of retrying.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from infra_tools.graph import ResourceGraph
from infra_tools.verify.report import VerifyError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client

CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 10
_CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    retries={"max_attempts": 2, "mode": "standard"},
)
# Error codes that mean "these credentials are not good here", not "the resource differs".
_AUTH_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AuthFailure",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """Where to look, and how to tell this stack's resources from any others there."""

    stack: str
    region: str
    tags: dict[str, str]
    """Every resource of the stack carries these (the provider's default tags)."""
    endpoints: dict[str, str] = field(default_factory=lambda: {})
    """Per-service endpoint URL (LocalStack); empty means real AWS."""
    access_key: str | None = None
    secret_key: str | None = None
    outputs: dict[str, Any] = field(default_factory=lambda: {})
    """`pulumi stack output --json` of the deployment, when given: names beat tag search."""
    state: ResourceGraph | None = None
    """`pulumi stack export` of the deployment, when given: it names every resource by URN,
    so nothing is searched for."""

    def _client(self, service: str) -> Any:
        endpoint = self.endpoints.get(service)
        return boto3.client(  # type: ignore[call-overload]
            cast(Any, service),
            region_name=self.region,
            endpoint_url=endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=_CLIENT_CONFIG,
        )

    def s3(self) -> S3Client:
        return cast("S3Client", self._client("s3"))

    def kms(self) -> KMSClient:
        return cast("KMSClient", self._client("kms"))

    def ec2(self) -> EC2Client:
        return cast("EC2Client", self._client("ec2"))

    def eks(self) -> EKSClient:
        return cast("EKSClient", self._client("eks"))

    def describe_endpoint(self, service: str) -> str:
        return self.endpoints.get(service) or f"AWS {service} in {self.region}"


def read_outputs(path: Path) -> dict[str, Any]:
    """Read `pulumi stack output --json` saved to `path`."""
    try:
        data: Any = json.loads(path.read_text())
    except OSError as exc:
        raise VerifyError(
            f"--outputs {path}: cannot be read ({exc.strerror}); "
            "write it with `pulumi stack output --json > FILE`"
        ) from None
    except json.JSONDecodeError as exc:
        raise VerifyError(
            f"--outputs {path}: is not JSON ({exc.msg}); "
            "write it with `pulumi stack output --json > FILE`"
        ) from None
    if not isinstance(data, dict):
        raise VerifyError(
            f"--outputs {path}: must be a JSON object of stack outputs; "
            "write it with `pulumi stack output --json > FILE`"
        )
    return cast(dict[str, Any], data)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_errors(target: Target, service: str) -> Generator[None]:
    """Turn botocore's connection and credential failures into one readable line."""
    where = target.describe_endpoint(service)
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise VerifyError(
            f"no AWS credentials for stack {target.stack}: set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run in CI with the deploy role (OIDC)"
        ) from None
    except NoRegionError:
        raise VerifyError(
            f"no AWS region for stack {target.stack}: set aws:region in Pulumi.{target.stack}.yaml"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise VerifyError(
            f"cannot reach {where} ({type(exc).__name__}, {CONNECT_TIMEOUT_S}s connect timeout); "
            "check --endpoint-url, the network, or that LocalStack is running"
        ) from None
    except ReadTimeoutError:
        raise VerifyError(
            f"{where} did not answer within {READ_TIMEOUT_S}s; check that the endpoint is healthy"
        ) from None
    except ClientError as exc:
        if error_code(exc) in _AUTH_CODES:
            raise VerifyError(
                f"AWS refused the credentials for stack {target.stack} at {where} "
                f"({error_code(exc)}); check the role or profile and its read permissions"
            ) from None
        # Expected answers (NoSuchBucket, ...) are handled where they occur; anything else
        # means the endpoint is not the AWS API verify expects.
        operation = getattr(exc, "operation_name", "a call")
        raise VerifyError(
            f"{where} answered {operation} with {error_code(exc) or 'an error'}; "
            "check that --endpoint-url (or aws:endpoints) points at AWS or LocalStack"
        ) from None
    except BotoCoreError as exc:
        raise VerifyError(f"AWS call to {where} failed: {exc}") from None


def call_or_none(codes: set[str], function: Callable[[], T]) -> T | None:
    """Run `function`; None when AWS answers with one of `codes` (e.g. NoSuchBucket)."""
    try:
        return function()
    except ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise
