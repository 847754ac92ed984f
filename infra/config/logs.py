"""Log aggregation config: `mlops-platform:logs`."""

from __future__ import annotations

from pydantic import ValidationInfo, field_validator

from infra.config.base import ConfigModel, environment_of

# The only retention periods CloudWatch Logs accepts (PutRetentionPolicy).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


class LogsConfig(ConfigModel):
    retention_days: int = 90
    """Days CloudWatch Logs keeps container logs (a value CloudWatch accepts). Default 90;
    prod >= 30."""

    @field_validator("retention_days")
    @classmethod
    def _cloudwatch_accepts_it(cls, value: int, info: ValidationInfo) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            nearest = min(CLOUDWATCH_RETENTION_DAYS, key=lambda days: abs(days - value))
            raise ValueError(
                f"is not a retention CloudWatch Logs accepts; use e.g. {nearest} "
                f"(one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS[:12]))}, ...)"
            )
        if environment_of(info) == "prod" and value < 30:
            raise ValueError(
                "must be >= 30 in prod (logs of a failed run must outlive its investigation); "
                "set it to 30 or more"
            )
        return value
