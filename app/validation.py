"""Rows checked before anything trains: schema, numbers, ranges, label set.

A dataset prefix may hold a `schema.json` (the packaged Iris ships one, and `data upload`
seeds it): the feature columns in order with an optional [min, max] each, and the labels
allowed. Without one, every object must have the first object's header, features must be
finite numbers, and any label goes.

A bad row is rejected, not fatal: the report says which object, which line and why, and the
rest trains, unless more than `max_rejected_share` of the rows were rejected (then nothing
trains: that is a broken upload, not a few bad rows).

Written by hand: the checks are four, on numbers already parsed; a validation library
(pandera, Great Expectations) would bring pandas and its own schema language to the training
image for the same four checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

MAX_REPORTED_ROWS = 100
"""Rejected rows listed one by one in the report; the rest are counted."""


class FeatureRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None


class DatasetSchema(BaseModel):
    """`<dataset prefix>schema.json`."""

    model_config = ConfigDict(extra="forbid")

    features: dict[str, FeatureRule]
    """Feature columns, in the CSV's order, each with its allowed range."""
    labels: list[str] | None = None
    """Allowed labels; null: any."""
    max_rejected_share: float = Field(default=0.1, ge=0.0, le=1.0)
    """Above this share of rejected rows nothing trains."""


@dataclass(frozen=True)
class Rejection:
    source: str
    line: int
    reason: str


@dataclass
class ValidationReport:
    """What validation kept and refused, across every object of a dataset version."""

    accepted: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=lambda: list[Rejection]())
    """The first MAX_REPORTED_ROWS rejected rows."""
    reasons: dict[str, int] = field(default_factory=lambda: dict[str, int]())
    """How many rows each kind of problem rejected."""

    def reject(self, source: str, line: int, kind: str, reason: str) -> None:
        self.rejected += 1
        self.reasons[kind] = self.reasons.get(kind, 0) + 1
        if len(self.rejections) < MAX_REPORTED_ROWS:
            self.rejections.append(Rejection(source, line, reason))

    @property
    def rejected_share(self) -> float:
        total = self.accepted + self.rejected
        return self.rejected / total if total else 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.reasons.items()))
        return f"{self.accepted} rows accepted, {self.rejected} rejected" + (
            f" ({kinds})" if kinds else ""
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": self.reasons,
            "rejections": [vars(r) for r in self.rejections],
        }


def check_row(
    cells: list[str], schema: DatasetSchema | None, names: list[str]
) -> tuple[list[float], str] | tuple[None, tuple[str, str]]:
    """(features, label) of a good row, or (None, (kind, reason)) of a rejected one."""
    if len(cells) != len(names) + 1:
        return None, ("columns", f"{len(cells)} columns, the header has {len(names) + 1}")
    values: list[float] = []
    for name, cell in zip(names, cells, strict=False):
        try:
            value = float(cell)
        except ValueError:
            return None, ("not_a_number", f"{name}={cell!r} is not a number")
        if not math.isfinite(value):
            return None, ("not_finite", f"{name}={cell} is not finite")
        rule = schema.features[name] if schema else None
        if rule and (
            (rule.min is not None and value < rule.min)
            or (rule.max is not None and value > rule.max)
        ):
            return None, ("out_of_range", f"{name}={value:g} is outside [{rule.min}, {rule.max}]")
        values.append(value)
    label = cells[-1].strip()
    if not label:
        return None, ("no_label", "the label is empty")
    if schema and schema.labels is not None and label not in schema.labels:
        return None, ("unknown_label", f"label {label!r} is not one of {schema.labels}")
    return values, label
