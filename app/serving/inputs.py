"""Turning a request's rows into the model's input: the rules a row must meet, free of HTTP."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.errors import InvalidInputError


def feature_matrix(
    rows: Sequence[Sequence[float]], feature_names: Sequence[str], max_rows: int
) -> np.ndarray:
    """The rows as a float32 matrix, or InvalidInputError naming the first rule broken."""
    if len(rows) > max_rows:
        raise InvalidInputError(f"instances has {len(rows)} rows; the limit is {max_rows}")
    width = len(feature_names)
    bad = [i for i, row in enumerate(rows) if len(row) != width]
    if bad:
        raise InvalidInputError(
            f"row {bad[0]} has {len(rows[bad[0]])} features; the model expects "
            f"{width}: {', '.join(feature_names)}"
        )
    with np.errstate(over="ignore"):  # overflow becomes inf, rejected just below
        x = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(x).all():
        raise InvalidInputError("features must fit in float32 (no values beyond ±3.4e38)")
    return x
