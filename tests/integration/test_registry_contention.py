"""Concurrent registrations against the embedded S3: every trained model gets its own version
number; none is thrown away because others claimed numbers first."""

from __future__ import annotations

import threading

import pytest

from app.errors import AppError
from app.registry import ModelMetadata, S3ModelRegistry
from tests.conftest import EmbeddedAws

pytestmark = pytest.mark.localstack

WRITERS = 20


def test_twenty_concurrent_registrations_all_get_distinct_versions(
    embedded_aws: EmbeddedAws, bucket: str, trained_artifact: tuple[bytes, ModelMetadata]
) -> None:
    artifact, meta = trained_artifact
    # A client each, built before the threads start, like separate training jobs.
    registries = [
        S3ModelRegistry(embedded_aws.client("s3"), bucket, "iris-classifier")
        for _ in range(WRITERS)
    ]
    barrier = threading.Barrier(WRITERS)
    versions: dict[str, str] = {}
    failures: dict[str, str] = {}

    def register(writer: int) -> None:
        tag = f"writer-{writer}"
        barrier.wait()
        try:
            registered = registries[writer].register(
                artifact, meta.model_copy(update={"code_version": tag})
            )
            versions[tag] = registered.version
        except AppError as exc:
            failures[tag] = str(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, f"{len(failures)} of {WRITERS} registrations lost: {failures}"
    assert sorted(versions.values(), key=int) == [str(v) for v in range(1, WRITERS + 1)]
    reader = registries[0]
    assert reader.list_versions() == [str(v) for v in range(1, WRITERS + 1)]
    # Each version holds the model its writer registered, not another writer's.
    for tag, version in versions.items():
        assert reader.metadata(version).code_version == tag, version
