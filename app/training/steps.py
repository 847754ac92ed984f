"""The training pipeline as steps: prepare → a candidate each, in parallel → finish.

The same functions run on the cluster, one workflow step (pod) each, and on the embedded
default, where `train` and `retrain` run the candidates in parallel processes. Steps share
nothing but the parent run's id on the tracking server: `prepare` records the dataset's exact
S3 object versions there, so every candidate and `finish` read the same rows whatever lands
meanwhile, and hold out the same rows (the split depends on the data and the seed only).
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from app import data_versions
from app.dataset import Dataset, DatasetVersion, packaged_dataset_bytes, parse_csv
from app.errors import DatasetError, InvalidModelError, PromotionRefusedError, TrainingFailedError
from app.registry import ModelMetadata
from app.settings import Settings, load_settings
from app.tracking import pipeline_runs
from app.tracking.connection import first_line
from app.tracking.pipeline_runs import ParentRun
from app.tracking.registry import TrackedModelRegistry
from app.tracking.runs import LoggedRun, feature_schema_json, mark_refused
from app.training import pipeline
from app.training.candidates import Candidate, Family, TrainConfig
from app.training.evaluation import Decision, PromotionPolicy, split_holdout
from app.training.pipeline import Outcome
from app.training.promotion import challenge, mark_decided

log = logging.getLogger(__name__)

PACKAGED_SCHEME = "packaged:"


def packaged_uri(name: str) -> str:
    """How a run records a packaged data set: `packaged:wine.csv` (MLOPS_PACKAGED_DATASET)."""
    return f"{PACKAGED_SCHEME}{name}.csv"


def prepare(
    registry: TrackedModelRegistry,
    data: Dataset,
    dataset: DatasetVersion,
    validation: dict[str, object] | None,
    code_version: str,
    seed: int,
    holdout_fraction: float,
    family: str,
) -> ParentRun:
    """The parent run of one training, recording what it trains on, how it splits it and
    which model family it fits."""
    return pipeline_runs.create_parent(
        registry.client,
        registry.tracking_uri,
        registry.model_name,
        dataset,
        validation,
        code_version,
        feature_schema_json(data.feature_names),
        seed,
        holdout_fraction,
        family,
    )


def recorded_data(registry: TrackedModelRegistry, dataset: DatasetVersion) -> Dataset:
    """The rows a parent run recorded: its S3 objects at their versions, its local file, or
    the packaged data set it names (whatever MLOPS_PACKAGED_DATASET says now)."""
    if dataset.uri.startswith(PACKAGED_SCHEME):
        file = dataset.uri.removeprefix(PACKAGED_SCHEME)
        raw = packaged_dataset_bytes(file.removesuffix(".csv"))
        return _same_rows(parse_csv(raw, source=f"packaged {file}"), dataset)
    if dataset.uri.startswith("s3://"):
        bucket, _, prefix = dataset.uri.removeprefix("s3://").partition("/")
        store = registry.store
        if bucket != store.bucket:
            raise DatasetError(
                f"the run read {dataset.uri}, not a prefix of MLOPS_BUCKET={store.bucket}"
            )
        loaded = data_versions.load(store.s3, bucket, prefix, dataset.object_versions)
        return _same_rows(loaded.data, dataset)
    path = Path(dataset.uri)
    if not path.is_file():
        raise DatasetError(f"the run read {path}, which this machine does not have")
    return _same_rows(parse_csv(path.read_bytes(), source=str(path)), dataset)


def _same_rows(data: Dataset, recorded: DatasetVersion) -> Dataset:
    # An unversioned bucket, or a local file edited since, would hand a later step other rows
    # than `prepare` validated and split.
    if data.sha256 != recorded.digest:
        raise DatasetError(
            f"{recorded.uri} now reads as digest {data.sha256}, not the {recorded.digest} the "
            "training recorded (changed in place, in a bucket without versioning?); run the "
            "training again"
        )
    return data


def candidate(
    registry: TrackedModelRegistry,
    parent: ParentRun,
    chosen: Candidate,
    epochs: int,
    folds: int,
    family: Family,
) -> LoggedRun | None:
    """Train one candidate of `family` on the parent's rows (minus the held-out ones) and
    log it as a child run; None on every rank but the primary one under torchrun."""
    # Before the data is read: a candidate the family cannot train fails at once.
    single = TrainConfig(
        epochs=epochs, grid=(chosen,), seed=parent.seed, folds=folds, family=family
    )
    data = recorded_data(registry, parent.dataset)
    record = pipeline.train_to_record(
        data,
        parent.dataset,
        single,
        parent.code_version,
        registry.model_name,
        parent.holdout_fraction,
    )
    if record is None:
        return None
    return pipeline_runs.log_candidate(registry.client, registry.tracking_uri, parent, record)


def finish(
    registry: TrackedModelRegistry,
    parent: ParentRun,
    alias: str,
    promote: bool,
    policy: PromotionPolicy,
) -> Outcome:
    """Register the best candidate; promote it if asked and better than the served model on
    the same held-out rows. The parent run ends only after that (FAILED on any error), and a
    retried `finish` reuses the version an earlier attempt registered."""
    try:
        outcome = _register_and_decide(registry, parent, alias, promote, policy)
    except InvalidModelError as exc:
        mark_refused(registry.client, registry.tracking_uri, parent.run_id, str(exc))
        pipeline_runs.fail_parent(registry.client, parent)
        raise
    except BaseException:
        pipeline_runs.fail_parent(registry.client, parent)
        raise
    pipeline_runs.end_parent(registry.client, parent)
    return outcome


def _register_and_decide(
    registry: TrackedModelRegistry,
    parent: ParentRun,
    alias: str,
    promote: bool,
    policy: PromotionPolicy,
) -> Outcome:
    client, uri = registry.client, registry.tracking_uri
    version = pipeline_runs.registered_version(client, uri, parent)
    if version is None:
        winner = pipeline_runs.best_candidate(client, uri, parent)
        artifact, meta = registry.download_run_model(str(winner.info.artifact_uri))
        pipeline_runs.complete_parent(client, uri, parent, winner, meta.primary_metric)
        # The version's run is the winning candidate's (MLflow wants the source among that
        # run's artifacts); the decision goes on the parent, the training as a whole.
        source = LoggedRun(winner.info.run_id, parent.experiment_id, str(winner.info.artifact_uri))
        version = registry.register(source, meta, artifact)
        pipeline_runs.mark_registered(client, uri, parent, version)
    else:
        artifact, meta = registry.download_version(version)
    meta = meta.model_copy(update={"version": version})
    if not promote:
        return Outcome(version, parent.run_id, meta, False, f"registered version {version}")
    logged = LoggedRun(parent.run_id, parent.experiment_id, "")
    if parent.holdout_fraction <= 0:
        return _promote_by_metric(registry, logged, meta, alias)
    _, holdout = split_holdout(
        recorded_data(registry, parent.dataset), parent.holdout_fraction, parent.seed
    )
    decision = challenge(registry, logged, (artifact, meta), holdout, alias, policy)
    return Outcome(
        version, parent.run_id, meta, decision.promote, f"version {version}: {decision.reason}"
    )


def _promote_by_metric(
    registry: TrackedModelRegistry, run: LoggedRun, meta: ModelMetadata, alias: str
) -> Outcome:
    """Nothing held out: the registry's gate on the cross-validated metric decides."""
    try:
        registry.promote(meta.version, alias)
    except PromotionRefusedError as exc:
        decision = Decision(False, str(exc))
    else:
        decision = Decision(True, "promoted: not worse than the served version's metric")
    mark_decided(registry, run, decision)
    return Outcome(
        meta.version,
        run.run_id,
        meta,
        decision.promote,
        f"version {meta.version}: {decision.reason}",
    )


# -- the embedded default: candidates in parallel processes -----------------------------------
@dataclass(frozen=True)
class CandidateJob:
    parent_run_id: str
    hidden: int
    learning_rate: float
    epochs: int
    folds: int


def run_candidates_in_parallel(jobs: list[CandidateJob], workers: int) -> list[str]:
    """Each candidate in a process of its own (settings from the environment, as a workflow
    step's pod gets them), `workers` at a time; the child run ids. One failure fails the
    training. With one worker, the candidates run here, one after another."""
    if workers <= 1:
        return [_candidate_process(job) for job in jobs]  # one at a time: no process needed
    # spawn, not fork: PyTorch and the tracking client's threads do not survive a fork.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
    futures = {pool.submit(_candidate_process, job): job for job in jobs}
    try:
        return [future.result() for future in futures]
    except Exception as exc:
        failed = next(
            job for future, job in futures.items() if future.done() and future.exception()
        )
        raise TrainingFailedError(
            f"candidate {failed.hidden}:{failed.learning_rate:g} of run {failed.parent_run_id} "
            f"failed ({type(exc).__name__}: {first_line(str(exc))}); the other candidates "
            "were stopped; its child run and the log above say more"
        ) from exc
    finally:
        # On a failure the candidates not started yet never start.
        pool.shutdown(wait=True, cancel_futures=True)


def registry_from_settings(settings: Settings) -> TrackedModelRegistry:
    """The registry on the tracking server, checked reachable (one line naming the URI when
    it is not), with the bucket's deployment store."""
    from app.aws import s3_client
    from app.registry import S3ModelRegistry
    from app.tracking.connection import connect

    uri = settings.require_tracking_uri()
    store = S3ModelRegistry(s3_client(settings), settings.require_bucket(), settings.model_name)
    return TrackedModelRegistry(connect(uri), uri, settings.model_name, store)


def _candidate_process(job: CandidateJob) -> str:
    settings = load_settings()
    registry = registry_from_settings(settings)
    parent = pipeline_runs.read_parent(registry.client, registry.tracking_uri, job.parent_run_id)
    chosen = Candidate(job.hidden, job.learning_rate)
    logged = candidate(registry, parent, chosen, job.epochs, job.folds, settings.model_family)
    assert logged is not None, "a candidate process is a single process, hence the primary"
    return logged.run_id
