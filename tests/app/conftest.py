"""Fixtures of the app tests: one tiny trained model for the session, an API client, and a
capture store in memory."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from app.capture import layout
from app.capture.writer import CaptureLimits, CaptureWriter
from app.dataset import packaged_dataset_bytes, parse_csv
from app.errors import AliasNotFoundError, ModelNotFoundError
from app.registry import AliasRecord, ModelMetadata, S3ModelRegistry
from app.serving.api import create_app
from app.settings import Settings
from app.training.candidates import Candidate, TrainConfig
from app.training.pipeline import train_to_artifact

API_KEY = "test-key-0123456789abcdef"
PREDICTION_ID_KEY = "test-prediction-id-key-0123456789abcdef"
# Tiny: enough for a model that beats chance, cheap on 2 CPU cores.
TINY = TrainConfig(epochs=60, grid=(Candidate(hidden=16, learning_rate=0.05),))


@pytest.fixture(scope="session")
def trained() -> tuple[bytes, ModelMetadata]:
    result = train_to_artifact(parse_csv(packaged_dataset_bytes()), TINY, "test", "iris-classifier")
    assert result is not None
    artifact, meta = result
    return artifact, meta.model_copy(
        update={"artifact_sha256": hashlib.sha256(artifact).hexdigest()}
    )


class MemoryRegistry(S3ModelRegistry):
    """The registry's read side over a dict, for API tests that need no S3."""

    def __init__(self) -> None:
        super().__init__(s3=None, bucket="memory", model_name="iris-classifier")
        self.versions: dict[str, tuple[bytes, ModelMetadata]] = {}
        self.production: str | None = None

    def add(self, version: str, artifact: bytes, meta: ModelMetadata) -> None:
        self.versions[version] = (artifact, meta.model_copy(update={"version": version}))

    def alias(self, alias: str) -> tuple[AliasRecord, str]:
        if self.production is None:
            raise AliasNotFoundError(f"alias {alias} not set")
        return AliasRecord(alias=alias, version=self.production, updated_at=datetime.now(UTC)), ""

    def metadata(self, version: str) -> ModelMetadata:
        if version not in self.versions:
            raise ModelNotFoundError(f"memory://models/iris-classifier/{version} does not exist")
        return self.versions[version][1]

    def artifact(self, version: str) -> tuple[bytes, ModelMetadata]:
        raw, meta = self.versions[version]
        if hashlib.sha256(raw).hexdigest() != meta.artifact_sha256:
            from app.errors import ArtifactIntegrityError

            raise ArtifactIntegrityError(f"version {version}: sha256 mismatch")
        return raw, meta


@pytest.fixture
def memory_registry(trained: tuple[bytes, ModelMetadata]) -> MemoryRegistry:
    registry = MemoryRegistry()
    registry.add("1", *trained)
    registry.production = "1"
    return registry


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bucket": "memory",
        "api_keys": API_KEY,
        "prediction_id_key": PREDICTION_ID_KEY,
        # Nothing listens there: an app built without a capture writer fails its uploads at
        # once instead of reaching for AWS.
        "s3_endpoint_url": "http://127.0.0.1:9",
        "poll_interval_seconds": 3600,
        "max_batch_size": 8,
        "max_body_bytes": 4096,
        "drift_window": 50,
    }
    values.update(overrides)
    return Settings.model_validate(values)


class MemoryStore:
    """Capture objects in a dict, as the writer's `put`; `fail` or `delay` a bucket's trouble."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail: Exception | None = None
        self.delay = 0.0
        self._lock = threading.Lock()

    def __call__(self, key: str, body: bytes) -> None:
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.objects[key] = body

    def records(self, stream: layout.Stream) -> list[dict[str, object]]:
        prefix = layout.stream_prefix("iris-classifier", stream)
        with self._lock:
            bodies = [body for key, body in sorted(self.objects.items()) if key.startswith(prefix)]
        return [record for body in bodies for record in layout.decode(body)]


# Uploads only when the writer closes (or fills): tests see every object after the app stops.
QUIET = CaptureLimits(flush_seconds=3600, poll_seconds=0.01, close_seconds=10)


def memory_capture(store: MemoryStore, limits: CaptureLimits = QUIET) -> CaptureWriter:
    return CaptureWriter(store, "iris-classifier", limits=limits, writer="test-pod-0000")


@pytest.fixture
def capture_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def client(memory_registry: MemoryRegistry, capture_store: MemoryStore) -> Iterator[TestClient]:
    api = create_app(
        registry=memory_registry,
        settings=make_settings(),
        capture_writer=memory_capture(capture_store),
    )
    with TestClient(api) as test_client:
        test_client.headers["Authorization"] = f"Bearer {API_KEY}"
        yield test_client
