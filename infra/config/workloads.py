"""App workload config: `mlops-platform:app` (the models, their serving, training and triggers)."""

from __future__ import annotations

import re
from typing import Literal, cast

from pydantic import Field, field_validator, model_validator

from infra.config.base import ConfigModel
from infra.config.models import ModelConfig, check_models, default_models
from infra.config.resources import ResourcesConfig, ServingResourcesConfig, mebibytes

__all__ = [
    "AppConfig",
    "ExposureConfig",
    "ModelConfig",
    "ResourcesConfig",
    "ServingResourcesConfig",
    "TrainingConfig",
    "check_cron",
    "check_image_reference",
    "mebibytes",
]

# OCI distribution spec: a tag is [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
_CIDR = re.compile(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")

# The CronJob controller parses schedules with robfig/cron's standard parser: five fields,
# or one of these macros. TZ=/CRON_TZ= prefixes are rejected by the API (use timeZone).
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (field name, lowest, highest, names counted from `lowest`)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
CRON_HELP = 'use five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * 0"'


def _cron_value(text: str, low: int, names: tuple[str, ...]) -> int:
    if text.lower() in names:
        return low + names.index(text.lower())
    if not text.isdigit():
        raise ValueError(text)
    return int(text)


def _check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for item in text.split(","):
        span, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{name} step {step!r} must be a positive number")
        if span in ("*", "?"):
            continue
        first, _, last = span.partition("-")
        try:
            bounds = [_cron_value(part, low, names) for part in (first, last) if part or last]
        except ValueError:
            raise ValueError(f"{name} {item!r} is not a number, range or list") from None
        if not bounds or any(value < low or value > high for value in bounds):
            raise ValueError(f"{name} {item!r} is outside {low}-{high}")


def check_cron(schedule: str) -> None:
    """Raise ValueError naming the bad field unless `schedule` is a CronJob schedule."""
    if schedule.strip() in _CRON_MACROS:
        return
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"has {len(fields)} fields, not 5")
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        _check_cron_field(text, name, low, high, names)


class ExposureConfig(ConfigModel):
    mode: Literal["internal", "public", "clusterIp"] = "internal"
    """internal: NLB reachable from the VPC only; public: internet-facing, TLS; clusterIp: no
    load balancer (about $16/month less), reached with `kubectl port-forward` or from pods and
    hosts inside the VPC (dev). Default internal."""
    certificate_arn: str | None = None
    """ACM certificate the public NLB terminates TLS with; required when mode is public."""
    source_cidrs: list[str] = Field(default_factory=list)
    """Client ranges admitted by the load balancer; empty means the VPC (internal) only."""
    allow_plain_http: bool = False
    """Accept an internal load balancer without TLS in prod (bearer keys in clear inside the
    VPC). Default off: prod needs certificateArn."""

    @field_validator("certificate_arn")
    @classmethod
    def _acm_arn(cls, value: str | None) -> str | None:
        if value is not None and not _ACM_ARN.match(value):
            raise ValueError(
                "is not an ACM certificate ARN; use arn:aws:acm:<region>:<account>:certificate/<id>"
            )
        return value

    @field_validator("source_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            if not _CIDR.match(cidr):
                raise ValueError(f"entry {cidr!r} is not an IPv4 CIDR; use e.g. 203.0.113.0/24")
        return value

    @model_validator(mode="after")
    def _public_needs_tls(self) -> ExposureConfig:
        if self.mode == "clusterIp" and (self.certificate_arn or self.source_cidrs):
            raise ValueError(
                "mode=clusterIp has no load balancer, so certificateArn and sourceCidrs would "
                "be ignored; remove them or use mode internal or public"
            )
        if self.allow_plain_http and (self.mode != "internal" or self.certificate_arn):
            raise ValueError(
                "allowPlainHttp applies to an internal load balancer without certificateArn "
                "only; remove it"
            )
        if self.mode == "public" and self.certificate_arn is None:
            raise ValueError(
                "mode=public needs certificateArn (the public endpoint serves TLS only); "
                "set app.exposure.certificateArn or use mode internal"
            )
        return self


class TrainingConfig(ConfigModel):
    image_tag: str | None = None
    """Tag or digest of the training image; default `<app.imageTag>-train`."""
    schedule: str = "0 3 * * 0"
    """Cron schedule of the retraining CronJob (UTC unless timeZone). Default Sundays 03:00."""
    time_zone: str = "Etc/UTC"
    """IANA time zone the schedule is read in. Default Etc/UTC."""
    nodes: int = Field(default=1, ge=1, le=64)
    """GPU nodes one training run spans (torchrun across an Indexed Job). Default 1."""
    gpus_per_node: int = 1
    """GPUs each training pod requests (`nvidia.com/gpu`). Default 1."""
    resources: ResourcesConfig = ResourcesConfig(
        cpu_request="2", memory_request="8Gi", cpu_limit="4", memory_limit="16Gi"
    )
    """CPU and memory of each training pod."""
    active_deadline_seconds: int = Field(default=4 * 3600, ge=300)
    """A run still going after this long is stopped (a hung job would pin a GPU). Default 4h."""
    backoff_limit: int = Field(default=1, ge=0, le=10)
    """Retries of a failed training pod. Default 1."""
    harvest_schedule: str = "30 2 * * *"
    """Cron schedule of the daily harvest turning labelled captures of finished days into
    training rows (read in timeZone). Default 02:30 daily: late enough that most of the
    previous day's labels are in, early enough for the Sunday retraining to train on them."""

    @field_validator("image_tag")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        return value if value is None else check_image_reference(value)

    @field_validator("schedule", "harvest_schedule")
    @classmethod
    def _schedule_is_cron(cls, value: str) -> str:
        try:
            check_cron(value)
        except ValueError as exc:
            raise ValueError(f"is not cron syntax ({exc}); {CRON_HELP}") from None
        return value

    @field_validator("gpus_per_node")
    @classmethod
    def _at_least_one_gpu(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                "must be at least 1 (training runs on the GPU pool only); "
                "set gpusPerNode to 1 or more"
            )
        return value


# Keys that were per-stack while a stack served one model; each is now a field of a model.
_MOVED_TO_MODELS = {
    "modelName": "name",
    "modelAlias": "alias",
    "minReplicas": "minReplicas",
    "maxReplicas": "maxReplicas",
    "resources": "resources",
    "captureSampleRate": "captureSampleRate",
}


class AppConfig(ConfigModel):
    image_tag: str = "unreleased"
    """Image tag (git SHA) or digest (sha256:...) in the stack's ECR repository; CI sets it."""
    models: list[ModelConfig] = Field(default_factory=default_models)
    """The models served, each with its own serving workload, training, dataset queue, batch
    scoring and rollout. Default: iris-classifier alone, on `datasets/iris/`."""
    target_cpu_percent: int = Field(default=70, ge=10, le=100)
    """Average CPU utilization each model's HPA keeps its serving pods at. Default 70."""
    high_availability: bool = True
    """Spread every model's serving pods across zones and guard them with a
    PodDisruptionBudget. Default on."""
    exposure: ExposureConfig = ExposureConfig()
    """How clients reach the model servers (one load balancer per model, or none)."""
    training: TrainingConfig = TrainingConfig()
    """Scheduled and drift-triggered retraining on the GPU pool (every model's)."""

    @model_validator(mode="before")
    @classmethod
    def _one_model_keys_moved(cls, data: object) -> object:
        keys: dict[str, object] = cast(dict[str, object], data) if isinstance(data, dict) else {}
        moved = [key for key in _MOVED_TO_MODELS if key in keys]
        if moved:
            fields = ", ".join(f"{key} -> models[].{_MOVED_TO_MODELS[key]}" for key in moved)
            raise ValueError(
                f"{', '.join(moved)} now belong to each model ({fields}); move them into "
                "an entry of app.models, e.g. models: [{name: iris-classifier, "
                "minReplicas: 2}]"
            )
        return cast(object, data)

    @field_validator("models")
    @classmethod
    def _models_listed_once(cls, value: list[ModelConfig]) -> list[ModelConfig]:
        return check_models(value)

    @field_validator("image_tag")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return check_image_reference(value)

    @property
    def training_image_tag(self) -> str:
        """The training image: its own setting, else the serving tag + `-train` (CI pushes both)."""
        return self.training.image_tag or f"{self.image_tag}-train"

    @property
    def shadow_models(self) -> list[ModelConfig]:
        """The models whose promotions roll out in shadow (they need monitoring)."""
        return [model for model in self.models if model.rollout.mode == "shadow"]

    @model_validator(mode="after")
    def _digest_needs_training_digest(self) -> AppConfig:
        if self.image_tag.startswith("sha256:") and self.training.image_tag is None:
            raise ValueError(
                "imageTag is a digest, so the training image cannot be derived from it; "
                "set training.imageTag to the train image's digest too"
            )
        return self


def check_image_reference(value: str) -> str:
    if value == "latest":
        raise ValueError(
            "is a moving tag, which the repository's immutable tags cannot hold and a rollback "
            "cannot name; set it to the git commit SHA the CI job pushed, or to sha256:<digest>"
        )
    if value.startswith("sha256:"):
        if not _IMAGE_DIGEST.match(value):
            raise ValueError(
                "is not a sha256 digest; use sha256: followed by 64 lowercase hex digits"
            )
    elif not _IMAGE_TAG.match(value):
        raise ValueError(
            "is not an image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -); "
            "set it to the git commit SHA the CI job pushed, or to sha256:<digest>"
        )
    return value
