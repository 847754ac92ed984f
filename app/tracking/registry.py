"""The model registry: MLflow's registered model versions and aliases, and what is served.

MLflow owns the versions: it numbers them in its database (two trainings registering at once
get two numbers; a version's source never changes) and holds their tags (artifact sha256,
dataset digest, the gate metric) and aliases, which its UI shows.

What is served lives in the bucket, written by promotion (`app.registry.S3ModelRegistry`, the
deployment store): `models/<model>/<version>/` is a verified copy of the version's artifact and
metadata, created once and never overwritten, and `models/<model>/aliases/<alias>.json` the
pointer the servers follow, moved only by a conditional write. Servers read the bucket alone,
so they keep serving, and new pods still start, while the tracking server is down.

Promotion: download the version from MLflow, check its sha256 against its tag and its graph
against its metadata, copy it into the store, move the pointer (gated on the metric, and
conditional: of two racing promotions exactly one moves it, the other gets AliasConflictError),
then set MLflow's alias to the pointer's version. The pointer is the truth; MLflow's alias is
its mirror, and promoting the served version again re-mirrors it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import mlflow.artifacts
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from app import model_checks, s3_objects
from app.errors import (
    ArtifactIntegrityError,
    InvalidRegistryEntryError,
    ModelNotFoundError,
    TrackingUnavailableError,
)
from app.registry import AliasRecord, ModelMetadata, S3ModelRegistry, is_version_number
from app.tracking.connection import tracking_errors
from app.tracking.runs import ARTIFACT_FILE, METADATA_FILE, MODEL_DIR, SHA256_TAG, LoggedRun

DATASET_TAG = "dataset_sha256"
CODE_VERSION_TAG = "code_version"
PRIMARY_METRIC_TAG = "primary_metric"
_NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
_EXISTS = "RESOURCE_ALREADY_EXISTS"


@dataclass(frozen=True)
class VersionRow:
    """One registered version as `models list` shows it."""

    version: str
    created_at: int
    """Milliseconds since the epoch, MLflow's clock."""
    run_id: str | None
    tags: dict[str, str]
    aliases: list[str]
    problem: str | None
    """Why this version cannot be promoted (e.g. no sha256 tag); None when it can."""


class TrackedModelRegistry:
    """One registered model on the tracking server, and its deployment store in the bucket."""

    def __init__(
        self, client: MlflowClient, uri: str, model_name: str, store: S3ModelRegistry
    ) -> None:
        self.client = client
        self.tracking_uri = uri
        self.model_name = model_name
        self.store = store

    # -- register ----------------------------------------------------------------------------
    def register(self, run: LoggedRun, meta: ModelMetadata, artifact: bytes) -> str:
        """Register the run's model as a new version (checked first: InvalidModelError leaves
        nothing registered); its version number."""
        digest = hashlib.sha256(artifact).hexdigest()
        checked = meta.model_copy(update={"model_name": self.model_name, "artifact_sha256": digest})
        model_checks.open_session(
            artifact, checked, f"the new version of {self.model_name}", "nothing was registered"
        )
        metric = meta.primary_metric
        tags = {
            SHA256_TAG: digest,
            DATASET_TAG: meta.dataset_sha256,
            CODE_VERSION_TAG: meta.code_version,
            PRIMARY_METRIC_TAG: metric,
            metric: repr(meta.metrics[metric]),
        }
        with tracking_errors(self.tracking_uri, f"registering a version of {self.model_name}"):
            self._ensure_registered_model()
            created = self.client.create_model_version(
                self.model_name,
                source=f"{run.artifact_uri}/{MODEL_DIR}",
                run_id=run.run_id,
                tags=tags,
            )
        return str(created.version)

    def _ensure_registered_model(self) -> None:
        try:
            self.client.create_registered_model(self.model_name)
        except MlflowException as exc:
            if exc.error_code != _EXISTS:  # another training created it first: fine
                raise

    # -- read --------------------------------------------------------------------------------
    def versions(self) -> list[VersionRow]:
        """Every registered version, oldest first; a version that cannot be promoted says why."""
        with tracking_errors(self.tracking_uri, f"listing the versions of {self.model_name}"):
            found = self.client.search_model_versions(f"name='{self.model_name}'")
            # Search results carry no aliases; the registered model lists them all.
            aliases = self._aliases() if found else {}
        rows = [self._row(version, aliases) for version in found]
        return sorted(rows, key=lambda row: int(row.version))

    def _aliases(self) -> dict[str, list[str]]:
        """Version → its aliases."""
        model = self.client.get_registered_model(self.model_name)
        by_version: dict[str, list[str]] = {}
        aliases = cast(dict[str, str], model.aliases or {})  # pyright: ignore[reportUnknownMemberType]
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(str(alias))
        return by_version

    def _row(self, version: ModelVersion, aliases: dict[str, list[str]]) -> VersionRow:
        tags = {str(key): str(value) for key, value in (version.tags or {}).items()}
        problem = None
        if SHA256_TAG not in tags:
            problem = f"no {SHA256_TAG} tag: not registered by training; it cannot be promoted"
        return VersionRow(
            version=str(version.version),
            created_at=int(version.creation_timestamp or 0),
            run_id=version.run_id,
            tags=tags,
            aliases=sorted(aliases.get(str(version.version), [])),
            problem=problem,
        )

    def version(self, version: str) -> ModelVersion:
        if not is_version_number(version):
            raise ModelNotFoundError(f"model version {version!r} is not a version number")
        with tracking_errors(self.tracking_uri, f"reading {self.model_name} version {version}"):
            try:
                return self.client.get_model_version(self.model_name, version)
            except MlflowException as exc:
                if exc.error_code == _NOT_FOUND:
                    raise ModelNotFoundError(
                        f"model {self.model_name!r} has no version {version!r}; "
                        "`python -m app models list` shows the versions"
                    ) from None
                raise

    # -- promote and roll back ---------------------------------------------------------------
    def promote(self, version: str, alias: str, force: bool = False) -> AliasRecord:
        """Publish `version` to the bucket and point `alias` at it (gated unless `force`;
        checksum and graph are checked whatever `force` says), then mirror the alias."""
        artifact, meta = self._download(self.version(version))
        self.store.publish(version, artifact, meta)
        record = self.store.promote(version, alias, force=force)
        self._mirror(alias, record.version)
        return record

    def promote_over(
        self, version: str, alias: str, seen: AliasRecord | None, etag: str | None
    ) -> AliasRecord:
        """Promote `version` if the alias still serves what was `seen` (a decision taken
        against it); AliasConflictError when another promotion moved it meanwhile."""
        artifact, meta = self._download(self.version(version))
        self.store.publish(version, artifact, meta)
        record = self.store.move_from(version, alias, seen, etag)
        self._mirror(alias, record.version)
        return record

    def shadow_over(
        self, version: str, alias: str, seen: AliasRecord, etag: str | None
    ) -> AliasRecord:
        """Publish `version` and start its shadow rollout on `alias`, if the alias still
        serves what was `seen`; MLflow's alias stays on the served version until it ends."""
        artifact, meta = self._download(self.version(version))
        self.store.publish(version, artifact, meta)
        return self.store.shadow_from(version, alias, seen, etag)

    def find_alias(self, alias: str) -> tuple[AliasRecord | None, str | None]:
        """The bucket's alias record (what servers follow) and its ETag; (None, None) if unset."""
        return self.store.find_alias(alias)

    def start_shadow(self, version: str, alias: str) -> AliasRecord:
        """`models shadow VERSION`: roll `version` out in shadow of whatever `alias` serves."""
        seen, etag = self.store.alias(alias)
        return self.shadow_over(version, alias, seen, etag)

    def end_shadow(self, alias: str, version: str, promote: bool) -> AliasRecord:
        """End the rollout of `version` (promoted or not), and mirror the alias."""
        record = self.store.end_shadow(alias, version, promote)
        self._mirror(alias, record.version)
        return record

    def rollback(self, alias: str) -> AliasRecord:
        """Point `alias` back at its previous version (verified in the bucket), and mirror."""
        record = self.store.rollback(alias)
        self._mirror(alias, record.version)
        return record

    def _download(self, version: ModelVersion) -> tuple[bytes, ModelMetadata]:
        number = str(version.version)
        expected = (version.tags or {}).get(SHA256_TAG)
        where = f"{self.model_name} version {number} ({version.source})"
        if not expected:
            raise InvalidRegistryEntryError(
                f"{where} has no {SHA256_TAG} tag, so its artifact cannot be verified; "
                "register versions with `python -m app train`"
            )
        artifact, meta = self._fetch(str(version.source), where)
        digest = hashlib.sha256(artifact).hexdigest()
        if digest != expected:
            raise ArtifactIntegrityError(
                f"{where}: the artifact's sha256 {digest} does not match the version's tag "
                f"{expected}; it was not promoted; register a new version"
            )
        return artifact, meta.model_copy(
            update={"model_name": self.model_name, "version": number, "artifact_sha256": digest}
        )

    def download_version(self, version: str) -> tuple[bytes, ModelMetadata]:
        """A registered version's artifact (its sha256 checked against the version's tag) and
        metadata, from the tracking server: what batch scoring of an unpublished version uses."""
        return self._download(self.version(version))

    def download_run_model(self, artifact_uri: str) -> tuple[bytes, ModelMetadata]:
        """The model a run logged (`<artifact_uri>/model/`), with its metadata."""
        artifact, meta = self._fetch(f"{artifact_uri}/{MODEL_DIR}", artifact_uri)
        digest = hashlib.sha256(artifact).hexdigest()
        return artifact, meta.model_copy(
            update={"model_name": self.model_name, "artifact_sha256": digest}
        )

    def _fetch(self, source: str, where: str) -> tuple[bytes, ModelMetadata]:
        with tempfile.TemporaryDirectory(prefix="mlops-promote-") as tmp:
            with tracking_errors(self.tracking_uri, f"downloading {where}"):
                for name in (ARTIFACT_FILE, METADATA_FILE):
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{source}/{name}",
                        dst_path=tmp,
                        tracking_uri=self.tracking_uri,
                    )
            artifact = (Path(tmp) / ARTIFACT_FILE).read_bytes()
            raw_meta = (Path(tmp) / METADATA_FILE).read_bytes()
        meta = s3_objects.parse(
            ModelMetadata,
            raw_meta,
            f"{source}/{METADATA_FILE}",
            "valid model metadata",
            "register a new version with `python -m app train`",
        )
        return artifact, meta

    def _mirror(self, alias: str, fallback: str) -> None:
        """Set MLflow's alias to the version the pointer names now (re-read, so a promotion
        that lost a race never mirrors its own, stale version)."""
        current, _ = self.store.find_alias(alias)
        served = current.version if current is not None else fallback
        try:
            with tracking_errors(self.tracking_uri, f"setting alias {alias!r} to version {served}"):
                self.client.set_registered_model_alias(self.model_name, alias, served)
        except TrackingUnavailableError as exc:
            raise TrackingUnavailableError(
                f"{exc}. The servers already follow version {served} (the bucket's pointer "
                f"moved); only MLflow's alias is behind: run `python -m app models promote "
                f"{served} --alias {alias}` again to mirror it"
            ) from None
