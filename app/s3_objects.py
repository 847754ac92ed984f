"""The registry's S3 calls. S3's answers become the app's errors, naming the object and, for a
403, the permissions the role likely lacks; stored JSON that does not parse becomes one line
naming the object, the field and the fix."""

from __future__ import annotations

from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from app.errors import (
    InvalidModelError,
    InvalidRegistryEntryError,
    ModelNotFoundError,
    RegistryAccessDeniedError,
    RegistryUnavailableError,
)

_Schema = TypeVar("_Schema", bound=BaseModel)

_READ_NEEDS = (
    "s3:GetObject on the key and s3:ListBucket on the bucket (without ListBucket, S3 answers "
    "403 instead of 404 for a key that does not exist), and kms:Decrypt on the bucket's key"
)
_WRITE_NEEDS = "s3:PutObject on the key and kms:GenerateDataKey on the bucket's key"
_LIST_NEEDS = "s3:ListBucket on the bucket"
_CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict")


def read(s3: Any, bucket: str, key: str, max_bytes: int | None = None) -> tuple[bytes, str]:
    """Bytes and ETag; ModelNotFoundError only when S3 says the key does not exist (404);
    InvalidModelError, before a byte of the body is read, for an object over `max_bytes`."""
    body, etag, _ = read_version(s3, bucket, key, max_bytes)
    return body, etag


def read_version(
    s3: Any, bucket: str, key: str, max_bytes: int | None = None, version_id: str | None = None
) -> tuple[bytes, str, str | None]:
    """`read`, and the S3 version id of what was read (None where the bucket keeps none):
    what names a dataset's exact content in its lineage. With `version_id`, that version."""
    url = f"s3://{bucket}/{key}"
    pinned = {"VersionId": version_id} if version_id else {}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **pinned)
        size = int(response.get("ContentLength") or 0)
        if max_bytes is not None and size > max_bytes:
            response["Body"].close()
            raise InvalidModelError(
                f"{url} is {size:,} bytes, more than the {max_bytes:,} this server may load (a "
                "quarter of MLOPS_MEMORY_LIMIT_MIB: the file, its session and the model still "
                "served must fit); give serving pods more memory or register a smaller model"
            )
        return response["Body"].read(), response["ETag"], response.get("VersionId")
    except ClientError as exc:
        # Not the status alone: a missing bucket is a 404 too, and no reason to think the
        # key was simply never written.
        if _code(exc) in ("NoSuchKey", "404"):
            raise ModelNotFoundError(f"{url} does not exist") from exc
        raise _error(exc, "reading", url, _READ_NEEDS) from exc
    except BotoCoreError as exc:
        raise _error(exc, "reading", url, _READ_NEEDS) from exc


def put(s3: Any, bucket: str, key: str, body: bytes, condition: dict[str, str]) -> bool:
    """Write under `condition` (IfNoneMatch / IfMatch); False when the condition failed,
    i.e. another writer got there first."""
    url = f"s3://{bucket}/{key}"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, **condition)
    except ClientError as exc:
        if _status(exc) in (409, 412) or _code(exc) in _CONDITION_FAILED:
            return False
        raise _error(exc, "writing", url, _WRITE_NEEDS) from exc
    except BotoCoreError as exc:
        raise _error(exc, "writing", url, _WRITE_NEEDS) from exc
    return True


def list_names(s3: Any, bucket: str, prefix: str, folders: bool = False) -> list[str]:
    """Keys under `prefix`, or with `folders` the next path segments (`<prefix>x/`)."""
    names: list[str] = []
    extra = {"Delimiter": "/"} if folders else {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, **extra
        ):
            if folders:
                names.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
            else:
                names.extend(obj["Key"] for obj in page.get("Contents", []))
    except (ClientError, BotoCoreError) as exc:
        raise _error(exc, "listing", f"s3://{bucket}/{prefix}", _LIST_NEEDS) from exc
    return names


def parse(schema: type[_Schema], raw: bytes, url: str, what: str, fix: str) -> _Schema:
    """`raw` as `schema`; InvalidRegistryEntryError "<url> is not <what>: <problems>; <fix>"."""
    try:
        return schema.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidRegistryEntryError(f"{url} is not {what}: {_summary(exc)}; {fix}") from None


def _summary(exc: ValidationError) -> str:
    """The first few validation errors on one line: field, problem, and a scalar's value."""
    parts: list[str] = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "document"
        value = err.get("input")
        shown = f" (got {value!r})" if value is None or isinstance(value, str | int | float) else ""
        parts.append(f"{loc}: {err['msg']}{shown}"[:200])
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error(
    exc: ClientError | BotoCoreError, action: str, url: str, needs: str
) -> RegistryUnavailableError:
    if isinstance(exc, ClientError):
        if _status(exc) == 403 or _code(exc) in ("AccessDenied", "403"):
            return RegistryAccessDeniedError(
                f"access denied {action} {url}: the role needs {needs}"
            )
        if _code(exc) == "NoSuchBucket":
            return RegistryUnavailableError(
                f"{action} {url}: the bucket does not exist; check MLOPS_BUCKET"
            )
    return RegistryUnavailableError(f"{action} {url}: {exc}")
