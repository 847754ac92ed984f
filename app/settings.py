"""Runtime settings, read once from `MLOPS_*` environment variables.

The same code runs on AWS (no endpoint URL: the SDK's default endpoints and IAM role) and on
LocalStack (`MLOPS_S3_ENDPOINT_URL=http://127.0.0.1:4566`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import ConfigError

# S3 key segments: a model name ends up in object keys and metric labels.
MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
MIN_PREDICTION_ID_KEY_CHARS = 32
GENERATE_KEY = "generate one: `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"


class Settings(BaseSettings):
    """Every setting of the app; the env var is `MLOPS_` + the field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="MLOPS_", extra="ignore", frozen=True)

    bucket: str | None = None
    """Model bucket name (stack output `modelBucketName`). Required by every S3 command."""
    s3_endpoint_url: str | None = None
    """S3 endpoint; unset on AWS, the LocalStack URL locally."""
    sqs_endpoint_url: str | None = None
    """SQS endpoint (`data watch`); unset on AWS, the LocalStack URL locally."""
    aws_region: str = "us-east-1"
    """Region of the model bucket."""
    model_name: str = Field(default="iris-classifier", pattern=MODEL_NAME_PATTERN)
    """Registered model name: `models/<model_name>/` in the bucket."""
    model_alias: str = Field(default="production", pattern=MODEL_NAME_PATTERN)
    """Alias the server loads and follows."""
    dataset_prefix: str = Field(default="datasets/iris/", pattern=r"^[A-Za-z0-9!_.*'()/-]+/$")
    """The dataset: every CSV object under this prefix (and its `schema.json`), read and
    validated together; new data arrives as new objects here."""
    dataset_key: str = "datasets/iris/iris.csv"
    """Object key `data upload` writes to by default; it must lie under `dataset_prefix`."""
    api_keys: SecretStr | None = None
    """Comma-separated bearer API keys. Prefer `api_keys_file` (a mounted secret)."""
    api_keys_file: Path | None = None
    """File with one API key per line, e.g. a mounted Kubernetes Secret."""
    prediction_id_key: SecretStr | None = None
    """Key that signs prediction ids, the same on every replica (local runs). Prefer
    `prediction_id_key_file`; exactly one of the two, at least 32 characters."""
    prediction_id_key_file: Path | None = None
    """File holding the prediction id key, e.g. a mounted Kubernetes Secret."""
    capture_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of predictions recorded under `captures/` in the model bucket. Default 1."""
    poll_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How often the server checks the alias for a new version."""
    max_batch_size: int = Field(default=256, ge=1, le=10_000)
    """Most instances in one /v1/predict request."""
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=50_000_000)
    """Largest accepted request body; larger bodies get 413."""
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Time a client has to send the whole request body once its headers are in; else 408."""
    drift_window: int = Field(default=1000, ge=10, le=1_000_000)
    """Live inputs per feature kept for drift statistics (sliding window)."""
    memory_limit_mib: int = Field(default=1024, ge=128, le=1_048_576)
    """The pod's memory limit in MiB (default: the serving pod's 1Gi); bounds the largest
    model the server loads (`max_model_bytes`)."""
    code_version: str | None = None
    """Code version recorded with each trained model: the image sets the git SHA it was built
    from; unset, training asks git for the checkout's commit (`unknown` outside a checkout)."""
    parallel_candidates: int = Field(default=4, ge=1, le=64)
    """How many candidates `train` and `retrain` train at the same time, a process each (on
    the cluster the workflow runs each in its own pod instead)."""
    holdout_fraction: float = Field(default=0.2, ge=0.0, le=0.5)
    """Share of each class that training keeps out, to score the new model against the served
    one on the same rows. 0: nothing held out; promotion then compares cross-validated
    metrics (measured on different data)."""
    promotion_margin: float = Field(default=0.01, ge=0.0, le=1.0)
    """How much higher a new model's primary metric must be on the held-out rows than the
    served model's to be promoted (0.01 = one point; a tie is never promoted)."""
    class_f1_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    """How much lower any class's F1 may be than the served model's on the held-out rows
    (a guard metric: a better average may not hide a class the new model lost)."""
    model_family: Literal["mlp", "gradient_boosting"] = "mlp"
    """What training fits: `mlp` (PyTorch, GPU when present) or `gradient_boosting`
    (scikit-learn, exported with skl2onnx). The server serves either: it follows the
    version's signature."""
    packaged_dataset: Literal["iris", "wine"] = "iris"
    """The dataset shipped in the package that `data upload` seeds and `train --data
    packaged` reads: `iris` or `wine`."""
    rollout_mode: Literal["direct", "shadow"] = "direct"
    """What promotion does with a better version: `direct` moves the alias at once;
    `shadow` starts a rollout: servers score live requests with it beside the served
    version, and `models rollout` completes it once the two agree for long enough."""
    rollout_hold_seconds: float = Field(default=1800.0, ge=0, le=86400)
    """How long a shadow version must hold (agreement, no errors) before it is promoted."""
    rollout_min_agreement: float = Field(default=0.9, ge=0.0, le=1.0)
    """Least share of live requests where the shadow version predicts the served version's
    class; below it (after `rollout_min_comparisons`) the rollout is rolled back."""
    rollout_min_comparisons: int = Field(default=500, ge=1, le=100_000_000)
    """Live requests compared (a batch counts once) before a rollout is judged either way."""
    rollout_timeout_seconds: float = Field(default=86400.0, gt=0, le=30 * 86400)
    """A rollout that has not seen `rollout_min_comparisons` by then is rolled back."""
    prometheus_url: str | None = None
    """Prometheus' HTTP API (e.g. http://prometheus.monitoring.svc:9090), where `models
    rollout` reads the live comparison counters of every replica; unset: it scrapes
    `--metrics-url` instead."""
    tracking_uri: str | None = None
    """The tracking server (MLflow) that training logs runs to and that holds the registered
    versions, e.g. http://127.0.0.1:5000. Required to train into or manage the registry;
    the model server never uses it."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the JSON logs."""
    request_log_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of requests that get a request log line (server errors always do). Default 1."""
    host: str = "127.0.0.1"
    """Address the server binds; the image sets 0.0.0.0."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Port the server listens on."""
    docs_enabled: bool = False
    """Serve Swagger UI at `/docs` (its scripts come from a public CDN): for local
    development only. `/openapi.json` is always served."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Port training serves `/metrics` on (primary rank only); unset: no endpoint."""
    metrics_linger_seconds: float = Field(default=0.0, ge=0, le=3600)
    """How long training keeps `/metrics` up after it ends, so a scrape sees the final values."""

    @property
    def max_model_bytes(self) -> int:
        """The largest artifact the server loads: a quarter of its memory limit, so the file,
        its inference session and the model still being served fit side by side."""
        return self.memory_limit_mib * 2**20 // 4

    @model_validator(mode="after")
    def _upload_key_in_dataset(self) -> Settings:
        if not self.dataset_key.startswith(self.dataset_prefix):
            raise ValueError(
                f"MLOPS_DATASET_KEY={self.dataset_key!r} is not under MLOPS_DATASET_PREFIX="
                f"{self.dataset_prefix!r}: training reads the prefix, so an upload there "
                "would never be trained on; put the key under the prefix"
            )
        return self

    def require_tracking_uri(self) -> str:
        if not self.tracking_uri:
            raise ConfigError(
                "MLOPS_TRACKING_URI is not set; set it to the tracking server's URL "
                "(`make up` prints it; on the cluster the training pods have it)"
            )
        return self.tracking_uri.rstrip("/")

    def require_bucket(self) -> str:
        if not self.bucket:
            raise ConfigError("MLOPS_BUCKET is not set; set it to the model bucket name")
        return self.bucket

    def load_api_keys(self) -> tuple[str, ...]:
        """Keys from `api_keys` and `api_keys_file`; at least one, or the server won't start."""
        keys: list[str] = []
        if self.api_keys is not None:
            keys += self.api_keys.get_secret_value().split(",")
        if self.api_keys_file is not None:
            try:
                keys += self.api_keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(
                    f"MLOPS_API_KEYS_FILE={self.api_keys_file} cannot be read ({exc.strerror}); "
                    "mount the API key secret there or unset it"
                ) from exc
        keys = [key.strip() for key in keys if key.strip()]
        short = [key for key in keys if len(key) < 16]
        if short:
            raise ConfigError(
                f"{len(short)} API key(s) are shorter than 16 characters; use long random keys "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if not keys:
            raise ConfigError(
                "no API key configured; set MLOPS_API_KEYS or MLOPS_API_KEYS_FILE "
                "(the API never runs open)"
            )
        return tuple(keys)

    def load_prediction_id_key(self) -> bytes:
        """The key that signs prediction ids; without one the server won't start."""
        if self.prediction_id_key is not None and self.prediction_id_key_file is not None:
            raise ConfigError(
                "both MLOPS_PREDICTION_ID_KEY and MLOPS_PREDICTION_ID_KEY_FILE are set; set "
                "only one (the file, a mounted secret, in clusters)"
            )
        if self.prediction_id_key_file is not None:
            try:
                key = self.prediction_id_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"MLOPS_PREDICTION_ID_KEY_FILE={self.prediction_id_key_file} cannot be read "
                    f"({exc.strerror}); mount the prediction id key secret there"
                ) from exc
            source = "MLOPS_PREDICTION_ID_KEY_FILE"
        elif self.prediction_id_key is not None:
            key = self.prediction_id_key.get_secret_value().strip()
            source = "MLOPS_PREDICTION_ID_KEY"
        else:
            raise ConfigError(
                "no prediction id key configured; set MLOPS_PREDICTION_ID_KEY_FILE (a mounted "
                f"secret) or MLOPS_PREDICTION_ID_KEY, the same on every replica ({GENERATE_KEY})"
            )
        if len(key) < MIN_PREDICTION_ID_KEY_CHARS:
            raise ConfigError(
                f"{source} holds a key of {len(key)} characters; the least is "
                f"{MIN_PREDICTION_ID_KEY_CHARS} ({GENERATE_KEY})"
            )
        return key.encode()


def load_settings() -> Settings:
    """Settings from the environment; a bad value becomes one ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"]) for err in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    # A rule across several variables has no location; its message names them itself.
    if not loc:
        return message.removeprefix("Value error, ")
    return f"MLOPS_{'_'.join(str(part) for part in loc).upper()}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; a FastAPI dependency that tests override."""
    return load_settings()
