"""`python -m app`: train, retrain, serve, manage model versions, seed the data.

Exit codes: 0 done, 1 the operation failed (registry, data), 2 bad arguments or settings
(an unknown model version or alias included).
Training imports PyTorch lazily: the serving image has no PyTorch.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.errors import AppError, ConfigError, InvalidRegistryEntryError, ModelNotFoundError
from app.logs import configure_logging, flush_logs
from app.settings import MODEL_NAME_PATTERN, Settings, load_settings

if TYPE_CHECKING:
    from app.dataset import Dataset, DatasetVersion
    from app.registry import ModelMetadata
    from app.tracking.registry import TrackedModelRegistry, VersionRow
    from app.training.candidates import TrainConfig
    from app.training.evaluation import PromotionPolicy

log = logging.getLogger("app")
DESCRIPTION = "Train, register, serve and retrain the model; manage its versions and data."


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def _alias(text: str) -> str:
    # Alias names become object keys (`aliases/<alias>.json`): the model name's rule.
    if not re.fullmatch(MODEL_NAME_PATTERN, text):
        raise argparse.ArgumentTypeError(
            f"{text!r} must be lower-case letters, digits and '-', e.g. production"
        )
    return text


def _grid(text: str) -> tuple[object, ...]:
    """`16:0.01,32:0.003` → candidates (hidden units : learning rate)."""
    from app.training.candidates import Candidate

    candidates: list[Candidate] = []
    for item in text.split(","):
        hidden, _, rate = item.partition(":")
        try:
            candidate = Candidate(hidden=int(hidden), learning_rate=float(rate))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"grid item {item!r} must be HIDDEN:LEARNING_RATE, e.g. 32:0.01"
            ) from None
        if candidate.hidden < 1 or not 0 < candidate.learning_rate < 1:
            raise argparse.ArgumentTypeError(
                f"grid item {item!r}: hidden must be >= 1 and 0 < learning rate < 1"
            )
        candidates.append(candidate)
    return tuple(candidates)


def _tracked_registry(settings: Settings) -> TrackedModelRegistry:
    from app.training.steps import registry_from_settings

    return registry_from_settings(settings)


def _print(obj: object) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_train(args: argparse.Namespace, settings: Settings, retrain: bool = False) -> int:
    from app.training.metrics_endpoint import training_metrics_endpoint

    # The endpoint spans the whole run, registration included, and lingers after it.
    with training_metrics_endpoint(settings.metrics_port, settings.metrics_linger_seconds):
        return _train_and_register(args, settings, retrain)


_UNCHANGED = (
    "the dataset's digest is the same as this run's: nothing trained (a retrain on the same "
    "data trains the same model); `train` trains anyway"
)


def _train_and_register(args: argparse.Namespace, settings: Settings, retrain: bool) -> int:
    if getattr(args, "output", None) and not getattr(args, "data", None):
        raise ConfigError("--output writes a model trained on --data: pass --data PATH|packaged")
    from app.training import pipeline
    from app.training.candidates import TrainConfig, distributed_from_env

    family = settings.model_family  # an empty grid is the family's default
    config = TrainConfig(epochs=args.epochs, grid=args.grid or (), seed=args.seed, family=family)
    local = getattr(args, "output", None)
    # The tracking server is checked before any data is read or any epoch is trained.
    registry = None if local else _tracked_registry(settings)
    data, dataset, validation = _training_data(args, settings, registry)
    if retrain and registry is not None:
        previous = pipeline.previous_run_on(registry, dataset, settings.model_family)
        if previous is not None:
            _print({"skipped": True, "run_id": previous, "reason": _UNCHANGED})
            return 0
    code_version = pipeline.resolve_code_version(settings.code_version)
    if registry is not None and distributed_from_env().world_size == 1:
        promote = retrain or args.promote
        return _run_pipeline(registry, settings, config, (data, dataset, validation), promote)
    # `--output`, or torchrun: the grid in this process group (DDP), logged once by rank 0.
    record = pipeline.train_to_record(
        data,
        dataset,
        config,
        code_version,
        settings.model_name,
        settings.holdout_fraction,
        validation,
    )
    if record is None:
        return 0
    if local:
        pipeline.write_local(Path(local), record.artifact, record.metadata)
        _print({"written": str(local), "metrics": record.metadata.metrics})
        return 0
    assert registry is not None
    outcome = pipeline.track_and_register(
        registry,
        record,
        alias=settings.model_alias,
        promote=retrain or args.promote,
        policy=_policy(settings),
    )
    _print_outcome(
        outcome.version, outcome.run_id, outcome.metadata, outcome.promoted, outcome.message
    )
    return 0


def _policy(settings: Settings) -> PromotionPolicy:
    from app.training.evaluation import PromotionPolicy

    return PromotionPolicy(
        settings.promotion_margin,
        settings.class_f1_tolerance,
        shadow=settings.rollout_mode == "shadow",
    )


def _run_pipeline(
    registry: TrackedModelRegistry,
    settings: Settings,
    config: TrainConfig,
    prepared: tuple[Dataset, DatasetVersion, dict[str, object] | None],
    promote: bool,
) -> int:
    """prepare → every candidate in its own process, at the same time → finish."""
    from app.tracking import pipeline_runs
    from app.training import pipeline, steps

    data, dataset, validation = prepared
    code_version = pipeline.resolve_code_version(settings.code_version)
    parent = steps.prepare(
        registry,
        data,
        dataset,
        validation,
        code_version,
        config.seed,
        settings.holdout_fraction,
        settings.model_family,
    )
    jobs = [
        steps.CandidateJob(parent.run_id, c.hidden, c.learning_rate, config.epochs, config.folds)
        for c in config.grid
    ]
    try:
        # More processes than cores only queue for them (each also imports PyTorch).
        workers = min(len(jobs), settings.parallel_candidates, os.cpu_count() or 1)
        steps.run_candidates_in_parallel(jobs, workers=workers)
    except BaseException:
        pipeline_runs.fail_parent(registry.client, parent)
        raise
    outcome = steps.finish(registry, parent, settings.model_alias, promote, _policy(settings))
    _print_outcome(
        outcome.version, outcome.run_id, outcome.metadata, outcome.promoted, outcome.message
    )
    return 0


def _print_outcome(
    version: str, run_id: str, meta: ModelMetadata, promoted: bool, message: str
) -> None:
    _print(
        {
            "version": version,
            "run_id": run_id,
            "metrics": meta.metrics,
            "promoted": promoted,
            "message": message,
        }
    )


def _training_data(
    args: argparse.Namespace, settings: Settings, registry: TrackedModelRegistry | None
) -> tuple[Dataset, DatasetVersion, dict[str, object] | None]:
    """The rows to train on, what they are, and (from the bucket) their validation report."""
    from app.dataset import packaged_dataset_bytes, parse_csv
    from app.training import pipeline, steps

    source = getattr(args, "data", None)
    if source == "packaged":
        name = settings.packaged_dataset
        data = parse_csv(packaged_dataset_bytes(name), source=f"packaged {name}.csv")
        return data, pipeline.local_dataset(data, steps.packaged_uri(name)), None
    if source:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"--data {path} is not a file; pass a CSV path or `packaged`")
        data = parse_csv(path.read_bytes(), source=str(path))
        return data, pipeline.local_dataset(data, str(path.resolve())), None
    assert registry is not None, "--output requires --data (checked by argparse)"
    loaded = pipeline.fetch_dataset(registry.store, settings.dataset_prefix)
    return loaded.data, loaded.version, loaded.report.as_dict()


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    return cmd_train(args, settings, retrain=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.serving.api import create_app
    from app.serving.server import run

    settings.load_api_keys()  # fail fast with exit 2, before binding a port
    settings.load_prediction_id_key()
    settings.require_bucket()
    # A line per request: gathered and written together (app.logs.BatchedLineHandler).
    configure_logging(settings.log_level, batched=True)
    try:
        run(
            create_app(settings=settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
        )
    finally:
        flush_logs()  # before a traceback or error printed to stderr directly
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    if args.models_command == "rollout":
        from app import rollout_command

        verdict = rollout_command.run(args, settings)
        _print({"action": verdict.action, "version": verdict.version, "reason": verdict.reason})
        return 0
    registry = _tracked_registry(settings)
    alias = getattr(args, "alias", None) or settings.model_alias
    if args.models_command == "list":
        _print(_version_rows(registry, settings.model_alias))
    elif args.models_command == "show":
        version = args.version
        if version is None:
            version = registry.store.alias(alias)[0].version
        _print(_version_detail(registry, version))
    elif args.models_command == "promote":
        record = registry.promote(args.version, alias, force=args.force)
        _print(record.model_dump(mode="json"))
    elif args.models_command == "shadow":
        _print(registry.start_shadow(args.version, alias).model_dump(mode="json"))
    else:
        _print(registry.rollback(alias).model_dump(mode="json"))
    return 0


def _version_rows(registry: TrackedModelRegistry, alias: str) -> list[dict[str, object]]:
    """`models list`: every registered version with its gate metric, its aliases in the
    tracking server and whether the servers follow it; one that cannot be promoted says why,
    so one bad entry never hides the others."""
    try:
        served, _ = registry.store.find_alias(alias)
    except InvalidRegistryEntryError as exc:
        print(f"warning: {exc}", file=sys.stderr)
        served = None
    return [_row(entry, alias, served.version if served else None) for entry in registry.versions()]


def _row(entry: VersionRow, alias: str, served: str | None) -> dict[str, object]:
    metric = entry.tags.get("primary_metric", "accuracy")
    row: dict[str, object] = {
        "version": entry.version,
        "created_at": datetime.fromtimestamp(entry.created_at / 1000, UTC).isoformat(),
        metric: _number(entry.tags.get(metric)),
        "aliases": entry.aliases,
        "served": alias if entry.version == served else "",
        "run_id": entry.run_id,
        "status": "invalid" if entry.problem else "valid",
    }
    if entry.problem:
        row["error"] = entry.problem
    return row


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _version_detail(registry: TrackedModelRegistry, version: str) -> dict[str, object]:
    """A version as the tracking server holds it, and its published copy if servers can
    load it."""
    found = registry.version(version)
    try:
        published: object = registry.store.metadata(version).model_dump(mode="json")
    except ModelNotFoundError:
        published = None
    return {
        "version": str(found.version),
        "source": found.source,
        "run_id": found.run_id,
        "tags": dict(found.tags or {}),
        "aliases": list(found.aliases or []),
        "published": published,
    }


def cmd_data_upload(args: argparse.Namespace, settings: Settings) -> int:
    from app import data_versions, s3_objects
    from app.aws import s3_client
    from app.dataset import packaged_dataset_bytes, packaged_schema_bytes, parse_csv

    if args.file and not Path(args.file).is_file():
        raise ConfigError(f"--file {args.file} is not a file; pass a CSV path or omit --file")
    packaged = settings.packaged_dataset
    raw = Path(args.file).read_bytes() if args.file else packaged_dataset_bytes(packaged)
    source = args.file or f"packaged {packaged}.csv"
    # New data is a new object: a file goes in beside the others under its own name.
    default = f"{settings.dataset_prefix}{Path(args.file).name}" if args.file else None
    key = args.key or default or settings.dataset_key
    bucket = settings.require_bucket()
    s3 = s3_client(settings)
    if key.startswith(settings.dataset_prefix):  # never upload rows training would refuse
        data_versions.check_upload(s3, bucket, settings.dataset_prefix, raw, source)
    else:
        parse_csv(raw, source=source)
    _refuse_overwrite(s3, bucket, key, raw, args.replace)
    s3.put_object(Bucket=bucket, Key=key, Body=raw)
    answer: dict[str, object] = {"uploaded": f"s3://{bucket}/{key}", "bytes": len(raw)}
    if not args.file:
        # The packaged data comes with its schema; an existing one is the team's, kept.
        schema_key = f"{settings.dataset_prefix}schema.json"
        schema = packaged_schema_bytes(packaged)
        if s3_objects.put(s3, bucket, schema_key, schema, {"IfNoneMatch": "*"}):
            answer["schema"] = f"s3://{bucket}/{schema_key}"
    _print(answer)
    return 0


def _refuse_overwrite(s3: object, bucket: str, key: str, raw: bytes, replace: bool) -> None:
    """Other content under an existing key replaces rows training had; only on purpose.
    The same bytes again are fine: a new S3 version of the same data (nothing retrains)."""
    import hashlib

    from app import s3_objects

    try:
        existing, _ = s3_objects.read(s3, bucket, key)
    except ModelNotFoundError:
        return
    if not replace and hashlib.sha256(existing).digest() != hashlib.sha256(raw).digest():
        raise ConfigError(
            f"s3://{bucket}/{key} exists with other content; pass --replace to make this its new "
            "version (its rows are no longer trained on), or --key NEW to add the rows beside it"
        )


def cmd_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    """The training pipeline's steps, one process each (a workflow runs them as pods)."""
    from app.tracking import pipeline_runs
    from app.training import pipeline, steps
    from app.training.candidates import Candidate

    registry = _tracked_registry(settings)
    if args.pipeline_command == "prepare":
        return _pipeline_prepare(args, settings, registry)
    parent = pipeline_runs.read_parent(registry.client, registry.tracking_uri, args.run_id)
    if args.pipeline_command == "abandon":
        ended = pipeline_runs.abandon(registry.client, registry.tracking_uri, parent)
        _print({"run_id": parent.run_id, "ended": ended})
        return 0
    if args.pipeline_command == "candidate":
        hidden, rate = args.candidate
        logged = steps.candidate(
            registry,
            parent,
            Candidate(hidden, rate),
            args.epochs,
            pipeline.DEFAULT_FOLDS,
            settings.model_family,
        )
        if logged is not None:  # the primary rank under torchrun, or a single process
            _print({"run_id": logged.run_id, "parent_run_id": parent.run_id})
        return 0
    outcome = steps.finish(registry, parent, settings.model_alias, args.promote, _policy(settings))
    _print_outcome(
        outcome.version, outcome.run_id, outcome.metadata, outcome.promoted, outcome.message
    )
    return 0


def _pipeline_prepare(
    args: argparse.Namespace, settings: Settings, registry: TrackedModelRegistry
) -> int:
    from app.training import pipeline, steps

    loaded = pipeline.fetch_dataset(registry.store, settings.dataset_prefix)
    run_id = ""
    previous = (
        pipeline.previous_run_on(registry, loaded.version, settings.model_family)
        if args.skip_unchanged
        else None
    )
    if previous is None:
        code_version = pipeline.resolve_code_version(settings.code_version)
        parent = steps.prepare(
            registry,
            loaded.data,
            loaded.version,
            loaded.report.as_dict(),
            code_version,
            args.seed,
            settings.holdout_fraction,
            settings.model_family,
        )
        run_id = parent.run_id
    if args.run_id_file:
        # A workflow reads its next steps' input from this file; empty: nothing to train.
        Path(args.run_id_file).write_text(run_id)
    answer = {"run_id": run_id} if run_id else {"skipped": True, "run_id": previous}
    _print({**answer, **({} if run_id else {"reason": _UNCHANGED})})
    return 0


def _candidate_spec(text: str) -> tuple[int, float]:
    """`HIDDEN:LR` → (hidden units, learning rate), as one item of --grid."""
    (candidate,) = _grid(text)
    return candidate.hidden, candidate.learning_rate  # type: ignore[attr-defined]


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    """Score a CSV in the bucket with a version: a registered one (`--version`, from the
    tracking server) or the one an alias serves (`--alias`, from the bucket alone)."""
    from app import batch
    from app.aws import s3_client
    from app.registry import S3ModelRegistry

    bucket = settings.require_bucket()
    s3 = s3_client(settings)
    if args.version:
        artifact, meta = _tracked_registry(settings).download_version(args.version)
    else:
        store = S3ModelRegistry(s3, bucket, settings.model_name)
        alias = args.alias or settings.model_alias
        artifact, meta = store.artifact(store.alias(alias)[0].version)
    out_key = args.output or batch.output_key(args.input, meta.version)
    result = batch.score_s3(s3, bucket, args.input, out_key, artifact, meta)
    _print(
        {
            "scored": f"s3://{bucket}/{args.input}",
            "written": f"s3://{bucket}/{out_key}",
            "model_version": meta.version,
            "rows": result.rows,
            "rows_per_second": round(result.rows_per_second),
        }
    )
    return 0


def cmd_data_harvest(args: argparse.Namespace, settings: Settings) -> int:
    """Labelled captures of finished days → CSV objects under the dataset prefix."""
    from app import data_versions
    from app.aws import s3_client
    from app.harvest import harvest

    s3 = s3_client(settings)
    bucket = settings.require_bucket()
    features = data_versions.feature_names(s3, bucket, settings.dataset_prefix)
    days = harvest(s3, bucket, settings.model_name, settings.dataset_prefix, features)
    _print([{"day": d.day.isoformat(), "written": d.key, "rows": d.rows} for d in days])
    return 0


def cmd_data_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Retrain when new data lands: poll the queue the bucket notifies, run `retrain` here."""
    import time

    from botocore.exceptions import BotoCoreError, ClientError

    from app.aws import sqs_client
    from app.trigger.dataset_events import DatasetEventConsumer
    from app.trigger.local import LocalRetrainLauncher

    settings.require_tracking_uri()  # the retraining needs it; fail before polling
    launcher = LocalRetrainLauncher()
    consumer = DatasetEventConsumer(
        sqs_client(settings), args.queue_url, settings.dataset_prefix, launcher
    )
    while True:
        try:
            result = consumer.poll_once(wait_seconds=args.wait_seconds)
        except (BotoCoreError, ClientError) as exc:
            if args.once:
                raise ConfigError(f"--queue-url {args.queue_url}: {exc}") from None
            # A blip of the queue must not end a watch meant to run for days.
            log.warning("polling the dataset queue failed; retrying", extra={"error": str(exc)})
            time.sleep(10)
            continue
        if result.launch is not None:
            _print({"changed": result.changed_keys, "launch": result.launch.outcome})
        if args.once and result.launch is not None:
            status = launcher.wait()
            return 0 if status in (None, 0) else 1


def _training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=300,
        help="epochs per candidate (gradient_boosting: boosting stages); default 300",
    )
    parser.add_argument(
        "--grid",
        type=_grid,
        default=None,
        help="candidates HIDDEN:LR,... (gradient_boosting reads HIDDEN as max leaf nodes); "
        "default per MLOPS_MODEL_FAMILY: mlp 16:0.01,32:0.01,32:0.003; "
        "gradient_boosting 4:0.05,8:0.05,8:0.02",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _pipeline_parser(steps: argparse.ArgumentParser) -> None:
    step = steps.add_subparsers(dest="pipeline_command", required=True, metavar="STEP")
    prepare = step.add_parser("prepare", help="validate the dataset, open the training's run")
    prepare.add_argument("--seed", type=int, default=0, help="the split's seed (default 0)")
    prepare.add_argument("--run-id-file", help="also write the run id here (empty: skipped)")
    prepare.add_argument(
        "--skip-unchanged",
        action="store_true",
        help="open no run when the dataset's digest was trained on already",
    )
    candidate = step.add_parser("candidate", help="train one candidate as a child run")
    candidate.add_argument("--run-id", required=True, help="the run `prepare` opened")
    candidate.add_argument(
        "--candidate", type=_candidate_spec, required=True, help="HIDDEN:LR, e.g. 32:0.01"
    )
    candidate.add_argument("--epochs", type=_positive_int, default=300, help="epochs")
    abandon = step.add_parser(
        "abandon", help="end a training whose candidates failed (FAILED, if still running)"
    )
    abandon.add_argument("--run-id", required=True, help="the run `prepare` opened")
    finish = step.add_parser("finish", help="register the best candidate, promote if better")
    finish.add_argument("--run-id", required=True, help="the run `prepare` opened")
    finish.add_argument("--promote", action="store_true", help="promote it if better")
    steps.set_defaults(handler=cmd_pipeline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train candidates, register the best version")
    _training_arguments(train)
    train.add_argument(
        "--data",
        help="CSV path or `packaged` (default: every CSV under MLOPS_DATASET_PREFIX in the bucket)",
    )
    train.add_argument("--promote", action="store_true", help="promote it if better")
    train.add_argument("--output", help="write model.onnx + metadata.json here, no registry")
    train.set_defaults(handler=cmd_train)

    retrain = commands.add_parser(
        "retrain", help="fetch the latest data, train, register, promote only if better"
    )
    _training_arguments(retrain)
    retrain.set_defaults(handler=cmd_retrain)

    serve = commands.add_parser("serve", help="serve the alias's model over HTTP")
    serve.add_argument("--host", help="bind address (default MLOPS_HOST)")
    serve.add_argument("--port", type=_positive_int, help="port (default MLOPS_PORT)")
    serve.set_defaults(handler=cmd_serve)

    models = commands.add_parser("models", help="list, show, promote, roll back versions")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    models_commands.add_parser("list", help="every version with its metric and alias")
    show = models_commands.add_parser("show", help="metadata of a version (default: the alias's)")
    show.add_argument("version", nargs="?", help="version number")
    show.add_argument("--alias", type=_alias, help="alias when no version is given")
    promote = models_commands.add_parser("promote", help="point an alias at a version")
    promote.add_argument("version", help="version number")
    promote.add_argument("--alias", type=_alias, help="alias (default MLOPS_MODEL_ALIAS)")
    promote.add_argument("--force", action="store_true", help="promote even if it is worse")
    rollback = models_commands.add_parser("rollback", help="restore the alias's previous version")
    rollback.add_argument("--alias", type=_alias, help="alias (default MLOPS_MODEL_ALIAS)")
    shadow = models_commands.add_parser(
        "shadow", help="roll a version out in shadow: scored on live requests, answering none"
    )
    shadow.add_argument("version", help="version number")
    shadow.add_argument("--alias", type=_alias, help="alias (default MLOPS_MODEL_ALIAS)")
    rollout = models_commands.add_parser(
        "rollout", help="judge the alias's shadow rollout once: promote it, end it, or hold"
    )
    rollout.add_argument("--alias", type=_alias, help="alias (default MLOPS_MODEL_ALIAS)")
    rollout.add_argument(
        "--metrics-url",
        action="append",
        help="a model server's /metrics (repeat per server) instead of MLOPS_PROMETHEUS_URL",
    )
    models.set_defaults(handler=cmd_models)

    score = commands.add_parser(
        "score", help="batch-score a CSV in the bucket; predictions written beside it"
    )
    score.add_argument("--input", required=True, help="object key of the CSV to score")
    which = score.add_mutually_exclusive_group()
    which.add_argument("--version", help="a registered version (from the tracking server)")
    which.add_argument("--alias", type=_alias, help="the version an alias serves (default)")
    score.add_argument(
        "--output", help="object key to write (default: beside the input, .v<N>.predictions.csv.gz)"
    )
    score.set_defaults(handler=cmd_score)

    _pipeline_parser(
        commands.add_parser(
            "pipeline", help="the training pipeline's steps, one process each (workflow pods)"
        )
    )

    data = commands.add_parser("data", help="manage training data in the bucket")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    upload = data_commands.add_parser(
        "upload", help="upload a CSV (default: the packaged MLOPS_PACKAGED_DATASET, iris)"
    )
    upload.add_argument(
        "--file", help="CSV to upload (default: the packaged data set and its schema)"
    )
    upload.add_argument(
        "--key",
        help="object key (default: the file's name under MLOPS_DATASET_PREFIX; the packaged "
        "data: MLOPS_DATASET_KEY)",
    )
    upload.add_argument(
        "--replace", action="store_true", help="overwrite an existing object's other content"
    )
    upload.set_defaults(handler=cmd_data_upload)
    harvest = data_commands.add_parser(
        "harvest", help="turn finished days of labelled captures into training CSVs"
    )
    harvest.set_defaults(handler=cmd_data_harvest)
    watch = data_commands.add_parser(
        "watch", help="retrain when new data lands (the bucket's notifications, from SQS)"
    )
    watch.add_argument("--queue-url", required=True, help="SQS queue the bucket notifies")
    watch.add_argument(
        "--once", action="store_true", help="stop after the first retraining it starts ends"
    )
    watch.add_argument(
        "--wait-seconds", type=_positive_int, default=20, help="long-poll wait (default 20)"
    )
    watch.set_defaults(handler=cmd_data_watch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return handler(args, settings)
    except (ConfigError, ModelNotFoundError) as exc:
        # An unknown version or alias is a bad argument, like a bad setting: exit 2.
        flush_logs()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:
        flush_logs()
        print(f"error: {exc}", file=sys.stderr)
        return 1
