"""The API under its production server, serving a model from a local directory (`train --output`).

Benchmarks need no bucket: the registry's read side is replaced by the directory, and
captures are written as files under `--capture-dir` (the same writer, thread and encoding;
a local write in place of the S3 upload). Everything else (auth, validation, metrics, drift,
prediction ids, feedback) is the production code path.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from app.capture.writer import CaptureWriter, Put
from app.errors import ArtifactIntegrityError
from app.logs import configure_logging
from app.registry import AliasRecord, ModelMetadata, S3ModelRegistry
from app.serving import server
from app.serving.api import create_app
from app.settings import Settings


class DirectoryRegistry(S3ModelRegistry):
    def __init__(self, directory: Path) -> None:
        super().__init__(s3=None, bucket=str(directory), model_name="iris-classifier")
        self.directory = directory

    def alias(self, alias: str) -> tuple[AliasRecord, str]:
        return AliasRecord(alias=alias, version="1", updated_at=datetime.now(UTC)), ""

    def artifact(self, version: str) -> tuple[bytes, ModelMetadata]:
        raw = (self.directory / "model.onnx").read_bytes()
        meta = ModelMetadata.model_validate_json((self.directory / "metadata.json").read_text())
        if hashlib.sha256(raw).hexdigest() != meta.artifact_sha256:
            raise ArtifactIntegrityError(f"{self.directory}/model.onnx: sha256 mismatch")
        return raw, meta.model_copy(update={"version": version})


def directory_put(root: Path) -> Put:
    """The capture writer's `put` into a local directory, keys as paths."""

    def put(key: str, body: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    return put


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument(
        "--request-log-sample-rate",
        type=float,
        default=1.0,
        help="share of requests logged (default 1: every one, as a pod does by default)",
    )
    parser.add_argument(
        "--capture-sample-rate",
        type=float,
        default=1.0,
        help="share of predictions captured (default 1: every one, as a pod does by default)",
    )
    parser.add_argument(
        "--capture-dir", type=Path, help="where captures are written (default: a temp directory)"
    )
    return parser


def main() -> None:
    args = arguments().parse_args()
    # INFO, as in a pod: the request log lines are part of what a prediction costs.
    settings = Settings.model_validate(
        {
            "api_keys": args.api_key,
            "max_batch_size": 256,
            "log_level": "INFO",
            "request_log_sample_rate": args.request_log_sample_rate,
            "capture_sample_rate": args.capture_sample_rate,
            "prediction_id_key": secrets.token_urlsafe(32),
        }
    )
    configure_logging(settings.log_level, batched=True)
    capture = CaptureWriter(
        directory_put(args.capture_dir or Path(tempfile.mkdtemp(prefix="captures-"))),
        "iris-classifier",
        settings.capture_sample_rate,
    )
    api = create_app(
        registry=DirectoryRegistry(args.model_dir), settings=settings, capture_writer=capture
    )
    server.run(api, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
