"""Model registry on the model bucket: immutable versions and atomically moved aliases.

Layout (CONTRACTS.md):
  models/<model>/<version>/model.onnx      the artifact
  models/<model>/<version>/metadata.json   metrics, hashes, params; written last = version done
  models/<model>/aliases/<alias>.json      {"version": ..., "history": [...]}

Every write is conditional, so concurrent writers never overwrite each other silently:
versions with `If-None-Match: *` (create only), aliases with `If-Match: <etag>` (move only
from the state we read). The loser gets VersionExistsError / AliasConflictError.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field

from app.drift import FeatureReference
from app.errors import (
    AliasConflictError,
    ArtifactIntegrityError,
    ModelNotFoundError,
    PromotionRefusedError,
    RegistryUnavailableError,
    VersionExistsError,
)

ARTIFACT = "model.onnx"
METADATA = "metadata.json"
ALIAS_HISTORY_LIMIT = 20
REGISTER_ATTEMPTS = 5


class ModelMetadata(BaseModel):
    model_name: str
    version: str
    created_at: datetime
    artifact_sha256: str
    dataset_sha256: str
    code_version: str
    params: dict[str, Any]
    metrics: dict[str, float]
    primary_metric: str = "accuracy"
    """Higher is better; promotion compares this metric."""
    feature_names: list[str]
    class_names: list[str]
    reference: dict[str, FeatureReference]
    """Per-feature training distribution, the baseline of drift statistics."""


class AliasRecord(BaseModel):
    alias: str
    version: str
    history: list[str] = Field(default_factory=list)
    """Earlier versions of this alias, most recent first (what rollback restores)."""
    updated_at: datetime


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ModelRegistry:
    """Versions and aliases of one model in one bucket. Imports nothing from the web layer."""

    def __init__(self, s3: Any, bucket: str, model_name: str) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.model_name = model_name
        self._prefix = f"models/{model_name}/"

    # -- reads -----------------------------------------------------------------------------
    def read_object(self, key: str) -> tuple[bytes, str]:
        """Bytes and ETag of any object in the bucket (also used for datasets)."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read(), response["ETag"]
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404") or _status(exc) == 404:
                raise ModelNotFoundError(f"s3://{self.bucket}/{key} does not exist") from exc
            raise RegistryUnavailableError(f"reading s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailableError(f"reading s3://{self.bucket}/{key}: {exc}") from exc

    def list_versions(self) -> list[str]:
        """Completed versions (those with metadata.json), oldest first."""
        versions: list[str] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    rest = obj["Key"][len(self._prefix) :]
                    version, _, leaf = rest.partition("/")
                    if leaf == METADATA and version.isdigit():
                        versions.append(version)
        except (ClientError, BotoCoreError) as exc:
            raise RegistryUnavailableError(
                f"listing s3://{self.bucket}/{self._prefix}: {exc}"
            ) from exc
        return sorted(versions, key=int)

    def metadata(self, version: str) -> ModelMetadata:
        if not version.isdigit():
            raise ModelNotFoundError(f"model version {version!r} is not a version number")
        try:
            raw, _ = self.read_object(f"{self._prefix}{version}/{METADATA}")
        except ModelNotFoundError:
            raise ModelNotFoundError(
                f"model {self.model_name!r} has no version {version!r}; "
                "`python -m app models list` shows the versions"
            ) from None
        return ModelMetadata.model_validate_json(raw)

    def artifact(self, version: str) -> tuple[bytes, ModelMetadata]:
        """The artifact and its metadata, after checking the artifact's sha256."""
        meta = self.metadata(version)
        raw, _ = self.read_object(f"{self._prefix}{version}/{ARTIFACT}")
        digest = hashlib.sha256(raw).hexdigest()
        if digest != meta.artifact_sha256:
            raise ArtifactIntegrityError(
                f"{self.model_name} version {version}: artifact sha256 {digest} does not match "
                f"metadata {meta.artifact_sha256}; refusing to load it"
            )
        return raw, meta

    def alias(self, alias: str) -> tuple[AliasRecord, str]:
        """The alias record and its ETag (for a conditional move)."""
        raw, etag = self.read_object(f"{self._prefix}aliases/{alias}.json")
        return AliasRecord.model_validate_json(raw), etag

    def find_alias(self, alias: str) -> tuple[AliasRecord | None, str | None]:
        try:
            return self.alias(alias)
        except ModelNotFoundError:
            return None, None

    # -- writes ----------------------------------------------------------------------------
    def _put(self, key: str, body: bytes, condition: dict[str, str]) -> None:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, **condition)
        except ClientError as exc:
            if _status(exc) in (409, 412) or _code(exc) in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                raise
            raise RegistryUnavailableError(f"writing s3://{self.bucket}/{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailableError(f"writing s3://{self.bucket}/{key}: {exc}") from exc

    def create_version(self, version: str, artifact: bytes, meta: ModelMetadata) -> ModelMetadata:
        """Write one version; VersionExistsError when someone else created it first."""
        meta = meta.model_copy(
            update={
                "version": version,
                "model_name": self.model_name,
                "artifact_sha256": hashlib.sha256(artifact).hexdigest(),
            }
        )
        base = f"{self._prefix}{version}/"
        try:
            # The artifact claims the version; metadata.json, written last, completes it.
            self._put(base + ARTIFACT, artifact, {"IfNoneMatch": "*"})
            self._put(
                base + METADATA, meta.model_dump_json(indent=2).encode(), {"IfNoneMatch": "*"}
            )
        except ClientError as exc:
            raise VersionExistsError(
                f"{self.model_name} version {version} already exists (created concurrently)"
            ) from exc
        return meta

    def register(self, artifact: bytes, meta: ModelMetadata) -> ModelMetadata:
        """Create the next version number, retrying past versions taken concurrently."""
        for _ in range(REGISTER_ATTEMPTS):
            existing = self._all_version_numbers()
            version = str(max(existing, default=0) + 1)
            try:
                return self.create_version(version, artifact, meta)
            except VersionExistsError:
                continue
        raise VersionExistsError(
            f"could not claim a new version of {self.model_name} in {REGISTER_ATTEMPTS} attempts"
        )

    def _all_version_numbers(self) -> list[int]:
        # Includes versions still being written (artifact without metadata yet).
        numbers: list[int] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._prefix, Delimiter="/"
            )
            for page in pages:
                for prefix in page.get("CommonPrefixes", []):
                    name = prefix["Prefix"][len(self._prefix) :].rstrip("/")
                    if name.isdigit():
                        numbers.append(int(name))
        except (ClientError, BotoCoreError) as exc:
            raise RegistryUnavailableError(
                f"listing s3://{self.bucket}/{self._prefix}: {exc}"
            ) from exc
        return numbers

    def set_alias(self, alias: str, version: str, history: list[str], etag: str | None) -> None:
        record = AliasRecord(
            alias=alias,
            version=version,
            history=history[:ALIAS_HISTORY_LIMIT],
            updated_at=datetime.now(UTC),
        )
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self._put(
                f"{self._prefix}aliases/{alias}.json",
                record.model_dump_json(indent=2).encode(),
                condition,
            )
        except ClientError as exc:
            raise AliasConflictError(
                f"alias {alias!r} of {self.model_name} changed while moving it; run again"
            ) from exc

    def promote(self, version: str, alias: str = "production", force: bool = False) -> AliasRecord:
        """Point `alias` at `version`; refused if its metric is worse than the current one's."""
        candidate = self.metadata(version)
        current, etag = self.find_alias(alias)
        if current is not None and current.version == version:
            return current
        if current is not None and not force:
            incumbent = self.metadata(current.version)
            metric = candidate.primary_metric
            new, old = (
                candidate.metrics.get(metric, float("-inf")),
                incumbent.metrics.get(metric, float("-inf")),
            )
            if new < old:
                raise PromotionRefusedError(
                    f"version {version} has {metric}={new:.4f}, worse than {alias} version "
                    f"{current.version} ({old:.4f}); pass --force to promote it anyway"
                )
        history = [current.version, *current.history] if current else []
        self.set_alias(alias, version, history, etag)
        return self.alias(alias)[0]

    def rollback(self, alias: str = "production") -> AliasRecord:
        """Move `alias` back to the version it pointed at before."""
        current, etag = self.alias(alias)
        if not current.history:
            raise ModelNotFoundError(
                f"alias {alias!r} of {self.model_name} has no earlier version to roll back to"
            )
        previous, *rest = current.history
        self.metadata(previous)
        self.set_alias(alias, previous, rest, etag)
        return self.alias(alias)[0]


def new_metadata(**fields: Any) -> ModelMetadata:
    """Metadata for a version not yet registered (version and artifact hash filled in later)."""
    return ModelMetadata(version="0", artifact_sha256="", created_at=datetime.now(UTC), **fields)
