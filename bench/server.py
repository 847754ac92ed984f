"""The API under its production server, serving a model from a local directory (`train --output`).

Benchmarks need no bucket: the registry's read side is replaced by the directory; everything
else (auth, validation, metrics, drift, feedback) is the production code path.
"""

from __future__ import annotations

import argparse
import hashlib
from datetime import UTC, datetime
from pathlib import Path

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


def main() -> None:
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
    args = parser.parse_args()
    # INFO, as in a pod: the request log lines are part of what a prediction costs.
    settings = Settings.model_validate(
        {
            "api_keys": args.api_key,
            "max_batch_size": 256,
            "log_level": "INFO",
            "request_log_sample_rate": args.request_log_sample_rate,
        }
    )
    configure_logging(settings.log_level)
    api = create_app(registry=DirectoryRegistry(args.model_dir), settings=settings)
    server.run(api, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
