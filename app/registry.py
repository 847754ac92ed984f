"""The deployment store: what promotion published to the model bucket, and what servers read.

The tracking server (MLflow, `app.tracking.registry`) numbers and tags the versions; promotion
copies a verified version here and moves the alias the servers follow, so serving needs the
bucket alone. Layout (CONTRACTS.md):
  models/<model>/<version>/model.onnx      the artifact (MLflow's version number)
  models/<model>/<version>/metadata.json   metrics, hashes, params; written last = version done
  models/<model>/aliases/<alias>.json      {"version": ..., "history": [...]}

Every write is conditional, so concurrent writers never overwrite each other silently:
versions with `If-None-Match: *` (create only), aliases with `If-Match: <etag>` (move only
from the state we read). The loser gets VersionExistsError / AliasConflictError.

Nothing unusable gets in, and nothing unusable stops the rest: a version is checked
(`app.model_checks`) when it is registered and before an alias moves to it, and a stored object
that does not parse raises InvalidRegistryEntryError naming its key, for that entry alone.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app import model_checks, s3_objects
from app.drift import FeatureReference
from app.errors import (
    AliasConflictError,
    AliasNotFoundError,
    ArtifactIntegrityError,
    InvalidRegistryEntryError,
    ModelNotFoundError,
    PromotionRefusedError,
    VersionExistsError,
)

log = logging.getLogger(__name__)

ARTIFACT = "model.onnx"
METADATA = "metadata.json"
ALIAS_HISTORY_LIMIT = 20


class ModelSignature(BaseModel):
    """How to call the graph and read its answer, recorded at registration.

    The request schema is the metadata's `feature_names` (one float32 column each, in that
    order) and the response's is its `class_names`: the server, its OpenAPI document, batch
    scoring and evaluation all follow these, whatever trained the model. The defaults are
    the contract of the platform's own MLP export, so versions registered before signatures
    were recorded load unchanged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str = Field(default="mlp", max_length=64)
    """What trained it (`mlp`, `gradient_boosting`, ...): informational."""
    input_tensor: str = Field(default="input", min_length=1, max_length=256)
    """The graph input that takes the rows: float32, shape (rows, len(feature_names))."""
    output_tensor: str = Field(default="logits", min_length=1, max_length=256)
    """The graph output read, shape (rows, len(class_names))."""
    output_kind: Literal["logits", "probabilities"] = "logits"
    """`logits`: the server applies a softmax; `probabilities`: the graph's own (e.g. a
    converted tree ensemble's), used as they are."""


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
    signature: ModelSignature = Field(default_factory=ModelSignature)
    """How the graph is called and read (absent in versions registered before: the MLP's)."""


class ShadowRollout(BaseModel):
    """A version servers score live requests with beside the alias's, answering nothing, until
    `models rollout` promotes it (its answers held) or ends it (they did not)."""

    version: str
    started_at: datetime


class AliasRecord(BaseModel):
    alias: str
    version: str
    history: list[str] = Field(default_factory=list)
    """Earlier versions of this alias, most recent first (what rollback restores)."""
    updated_at: datetime
    shadow: ShadowRollout | None = None
    """The rollout in progress, if any. Any move of the alias (promote, rollback) ends it."""


@dataclass(frozen=True)
class VersionEntry:
    """One completed version as `models list` shows it: its metadata, or why it has none."""

    version: str
    metadata: ModelMetadata | None
    problem: str | None = None


_VERSION_FIX = (
    "this version cannot be promoted or served; register a new one (`python -m app train`)"
)


def is_version_number(name: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts e.g. "²", which int() refuses, and one
    stray key like that would break every listing and registration."""
    return name.isascii() and name.isdigit()


class S3ModelRegistry:
    """Versions and aliases of one model in one bucket. Imports nothing from the web layer."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        model_name: str,
        max_artifact_bytes: int | None = None,
    ) -> None:
        """`max_artifact_bytes`: artifacts larger than this are refused before they are read
        (a server sets it from its memory limit; None: no limit)."""
        self._s3 = s3
        self.bucket = bucket
        self.model_name = model_name
        self.max_artifact_bytes = max_artifact_bytes
        self._prefix = f"models/{model_name}/"

    @property
    def s3(self) -> Any:
        """The S3 client this store reads and writes with (datasets are read with it too)."""
        return self._s3

    def _url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _alias_key(self, alias: str) -> str:
        return f"{self._prefix}aliases/{alias}.json"

    # -- reads -----------------------------------------------------------------------------
    def read_object(self, key: str) -> tuple[bytes, str]:
        """Bytes and ETag of any object in the bucket (also used for datasets)."""
        return s3_objects.read(self._s3, self.bucket, key)

    def list_versions(self) -> list[str]:
        """Completed versions (those with metadata.json), oldest first."""
        versions: list[str] = []
        for key in s3_objects.list_names(self._s3, self.bucket, self._prefix):
            version, _, leaf = key[len(self._prefix) :].partition("/")
            if leaf == METADATA and is_version_number(version):
                versions.append(version)
        return sorted(versions, key=int)

    def entries(self) -> list[VersionEntry]:
        """Every completed version; an invalid one carries its problem instead of metadata,
        so one bad version never hides the others."""
        found: list[VersionEntry] = []
        for version in self.list_versions():
            try:
                found.append(VersionEntry(version, self.metadata(version)))
            except InvalidRegistryEntryError as exc:
                found.append(VersionEntry(version, None, str(exc)))
        return found

    def metadata(self, version: str) -> ModelMetadata:
        """A version's metadata; InvalidRegistryEntryError naming the key when it is unusable."""
        if not is_version_number(version):
            raise ModelNotFoundError(f"model version {version!r} is not a version number")
        key = f"{self._prefix}{version}/{METADATA}"
        try:
            raw, _ = self.read_object(key)
        except ModelNotFoundError:
            raise ModelNotFoundError(
                f"model {self.model_name!r} has no version {version!r}; "
                "`python -m app models list` shows the versions"
            ) from None
        meta = s3_objects.parse(
            ModelMetadata, raw, self._url(key), "valid model metadata", _VERSION_FIX
        )
        problems = model_checks.metadata_problems(meta)
        if meta.version != version:
            problems.insert(0, f"version is {meta.version!r} but it is stored as {version!r}")
        if problems:
            raise InvalidRegistryEntryError(
                f"{self._url(key)}: {'; '.join(problems)}; {_VERSION_FIX}"
            )
        return meta

    def artifact(self, version: str) -> tuple[bytes, ModelMetadata]:
        """The artifact and its metadata, after checking the artifact's sha256."""
        meta = self.metadata(version)
        key = f"{self._prefix}{version}/{ARTIFACT}"
        raw, _ = s3_objects.read(self._s3, self.bucket, key, self.max_artifact_bytes)
        digest = hashlib.sha256(raw).hexdigest()
        if digest != meta.artifact_sha256:
            raise ArtifactIntegrityError(
                f"{self._url(key)}: sha256 {digest} does not match metadata "
                f"{meta.artifact_sha256}; refusing to load it; {_VERSION_FIX}"
            )
        return raw, meta

    def verify(self, version: str) -> ModelMetadata:
        """Metadata of `version` once its artifact matches its sha256 and its graph answers its
        metadata: what an alias move checks first, whatever `force` says."""
        raw, meta = self.artifact(version)
        where = self._url(f"{self._prefix}{version}/{ARTIFACT}")
        model_checks.open_session(raw, meta, where, "the alias was not moved; " + _VERSION_FIX)
        return meta

    def alias(self, alias: str) -> tuple[AliasRecord, str]:
        """The alias record and its ETag (for a conditional move)."""
        key = self._alias_key(alias)
        try:
            raw, etag = self.read_object(key)
        except ModelNotFoundError:
            raise AliasNotFoundError(
                f"{self._url(key)} does not exist: no version of {self.model_name} has been "
                f"promoted to alias {alias!r} yet; promote one with "
                f"`python -m app models promote VERSION --alias {alias}`"
            ) from None
        fix = f"rewrite it with `python -m app models promote VERSION --alias {alias} --force`"
        return s3_objects.parse(AliasRecord, raw, self._url(key), "a valid alias record", fix), etag

    def find_alias(self, alias: str) -> tuple[AliasRecord | None, str | None]:
        try:
            return self.alias(alias)
        except AliasNotFoundError:
            return None, None

    # -- writes ----------------------------------------------------------------------------
    def _prepare(self, artifact: bytes, meta: ModelMetadata, where: str) -> ModelMetadata:
        """Metadata to store with `artifact`; InvalidModelError when either is unusable."""
        meta = meta.model_copy(
            update={
                "model_name": self.model_name,
                "artifact_sha256": hashlib.sha256(artifact).hexdigest(),
            }
        )
        model_checks.open_session(artifact, meta, where, "nothing was registered")
        return meta

    def create_version(self, version: str, artifact: bytes, meta: ModelMetadata) -> ModelMetadata:
        """Write one version; InvalidModelError when its content is unusable,
        VersionExistsError when someone else created it first."""
        prepared = self._prepare(artifact, meta, f"{self.model_name} version {version}")
        return self._write_version(version, artifact, prepared)

    def publish(self, version: str, artifact: bytes, meta: ModelMetadata) -> ModelMetadata:
        """Copy a registered version here, or finish a copy a stopped promotion began.

        Each object is created only if absent; one already there must hold this artifact
        (same bytes, same sha256 in its metadata), else VersionExistsError: the number
        names another model here than on the tracking server."""
        prepared = self._prepare(artifact, meta, f"{self.model_name} version {version}")
        prepared = prepared.model_copy(update={"version": version})
        base = f"{self._prefix}{version}/"
        create_only = {"IfNoneMatch": "*"}
        if not s3_objects.put(self._s3, self.bucket, base + ARTIFACT, artifact, create_only):
            stored, _ = self.read_object(base + ARTIFACT)
            if hashlib.sha256(stored).hexdigest() != prepared.artifact_sha256:
                raise VersionExistsError(self._other_model(version, stored))
        body = prepared.model_dump_json(indent=2).encode()
        if not s3_objects.put(self._s3, self.bucket, base + METADATA, body, create_only):
            published = self.metadata(version)
            if published.artifact_sha256 != prepared.artifact_sha256:
                raise VersionExistsError(self._other_model(version, None))
            return published
        return prepared

    def _other_model(self, version: str, stored: bytes | None) -> str:
        found = f" (sha256 {hashlib.sha256(stored).hexdigest()})" if stored is not None else ""
        return (
            f"{self._url(f'{self._prefix}{version}/')} already holds another model{found}: the "
            "tracking server's version numbers no longer match the bucket's (was its database "
            "replaced?); nothing was promoted. Restore the tracking database, or serve under "
            "a new model name"
        )

    def _write_version(self, version: str, artifact: bytes, meta: ModelMetadata) -> ModelMetadata:
        meta = meta.model_copy(update={"version": version})
        base = f"{self._prefix}{version}/"
        create_only = {"IfNoneMatch": "*"}
        # The artifact claims the version; metadata.json, written last, completes it.
        if not (
            s3_objects.put(self._s3, self.bucket, base + ARTIFACT, artifact, create_only)
            and s3_objects.put(
                self._s3,
                self.bucket,
                base + METADATA,
                meta.model_dump_json(indent=2).encode(),
                create_only,
            )
        ):
            raise VersionExistsError(
                f"{self.model_name} version {version} already exists (created concurrently)"
            )
        return meta

    def set_alias(
        self,
        alias: str,
        version: str,
        history: list[str],
        etag: str | None,
        shadow: ShadowRollout | None = None,
    ) -> None:
        record = AliasRecord(
            alias=alias,
            version=version,
            history=history[:ALIAS_HISTORY_LIMIT],
            updated_at=datetime.now(UTC),
            shadow=shadow,
        )
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        body = record.model_dump_json(indent=2).encode()
        if not s3_objects.put(self._s3, self.bucket, self._alias_key(alias), body, condition):
            raise AliasConflictError(
                f"alias {alias!r} of {self.model_name} changed while moving it; run again"
            )

    def promote(self, version: str, alias: str = "production", force: bool = False) -> AliasRecord:
        """Point `alias` at `version` once it is verified (checksum and graph, even with
        `force`); refused if its metric is worse than the current one's, unless `force`:
        force skips only that quality gate."""
        candidate = self.verify(version)
        current, etag = self._alias_to_move(alias, force)
        if current is not None and current.version == version:
            return current
        if current is not None and not force:
            self._quality_gate(candidate, current)
        history = [current.version, *current.history] if current else []
        self.set_alias(alias, version, history, etag)
        return self.alias(alias)[0]

    def move_from(
        self, version: str, alias: str, seen: AliasRecord | None, etag: str | None
    ) -> AliasRecord:
        """Point `alias` at `version` (verified) only if the alias is still what was `seen`
        (its ETag; None: it did not exist): a decision taken against the version served then
        is not applied over another one. AliasConflictError otherwise."""
        self.verify(version)
        history = [seen.version, *seen.history] if seen else []
        self.set_alias(alias, version, history, etag)
        return self.alias(alias)[0]

    def _alias_to_move(self, alias: str, force: bool) -> tuple[AliasRecord | None, str | None]:
        """The record and ETag to move from; with `force`, an unreadable record is replaced
        (its history is lost) instead of blocking every move of the alias."""
        try:
            return self.alias(alias)
        except AliasNotFoundError:
            return None, None
        except InvalidRegistryEntryError as exc:
            if not force:
                raise
            log.warning("replacing an unreadable alias record", extra={"error": str(exc)})
            return None, self.read_object(self._alias_key(alias))[1]

    def _quality_gate(self, candidate: ModelMetadata, current: AliasRecord) -> None:
        try:
            incumbent = self.metadata(current.version)
        except (InvalidRegistryEntryError, ModelNotFoundError) as exc:
            # An incumbent that cannot be read cannot be served either: a verified candidate
            # is better than it, whatever its metric.
            log.warning("the alias's version is unusable; replacing it", extra={"error": str(exc)})
            return
        metric = candidate.primary_metric
        new, old = (
            candidate.metrics.get(metric, float("-inf")),
            incumbent.metrics.get(metric, float("-inf")),
        )
        if new < old:
            raise PromotionRefusedError(
                f"version {candidate.version} has {metric}={new:.4f}, worse than {current.alias} "
                f"version {current.version} ({old:.4f}); pass --force to promote it anyway"
            )

    def rollback(self, alias: str = "production") -> AliasRecord:
        """Move `alias` back to the version it pointed at before, once that one is verified."""
        current, etag = self.alias(alias)
        if not current.history:
            raise ModelNotFoundError(
                f"alias {alias!r} of {self.model_name} has no earlier version to roll back to"
            )
        previous, *rest = current.history
        self.verify(previous)
        self.set_alias(alias, previous, rest, etag)
        return self.alias(alias)[0]

    # -- shadow rollouts --------------------------------------------------------------------
    def shadow_from(
        self, version: str, alias: str, seen: AliasRecord, etag: str | None
    ) -> AliasRecord:
        """Start scoring `version` (verified) in shadow of the alias's version, if the alias is
        still what was `seen`; a rollout already running is replaced. AliasConflictError when
        the alias moved meanwhile."""
        self.verify(version)
        if version == seen.version:
            raise PromotionRefusedError(
                f"version {version} is what alias {alias!r} serves already; nothing to roll out"
            )
        started = ShadowRollout(version=version, started_at=datetime.now(UTC))
        self.set_alias(alias, seen.version, seen.history, etag, shadow=started)
        if seen.shadow is not None and seen.shadow.version != version:
            log.info(
                "shadow rollout replaced",
                extra={"alias": alias, "replaced": seen.shadow.version, "version": version},
            )
        return self.alias(alias)[0]

    def end_shadow(self, alias: str, version: str, promote: bool) -> AliasRecord:
        """End the rollout of `version`: the alias moves to it (`promote`) or stays. Refused
        (AliasConflictError) when that rollout is no longer the one running."""
        current, etag = self.alias(alias)
        if current.shadow is None or current.shadow.version != version:
            running = current.shadow.version if current.shadow else "none"
            raise AliasConflictError(
                f"the rollout of version {version} on alias {alias!r} of {self.model_name} is "
                f"no longer running (running: {running}; the alias was moved since?); nothing "
                "was changed"
            )
        if not promote:
            self.set_alias(alias, current.version, current.history, etag)
        else:
            self.verify(version)
            self.set_alias(alias, version, [current.version, *current.history], etag)
        return self.alias(alias)[0]


def new_metadata(**fields: Any) -> ModelMetadata:
    """Metadata for a version not yet registered (version and artifact hash filled in later)."""
    return ModelMetadata(version="0", artifact_sha256="", created_at=datetime.now(UTC), **fields)
