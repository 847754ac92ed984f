"""Turning a request's rows into the model's input: the rules a row must meet, free of HTTP.

A row is either positional (values in the signature's feature order) or named (an object
keyed by feature name, any order). Every rule broken is an InvalidInputError whose `loc`
names the field of the model's schema, as a 422's details do for shape errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from app.errors import InvalidInputError

Row = Sequence[float] | Mapping[str, float]


def feature_matrix(
    rows: Sequence[Row], feature_names: Sequence[str], max_rows: int, field: str
) -> tuple[list[Sequence[float]], np.ndarray]:
    """The rows in feature order, and as a float32 matrix; InvalidInputError naming the first
    rule broken. `field` is where the rows came from (`features`, or `instances` for a batch),
    for the error's location."""
    if len(rows) > max_rows:
        raise InvalidInputError(
            f"instances has {len(rows)} rows; the limit is {max_rows}", loc="body.instances"
        )
    width = len(feature_names)
    ordered: list[Sequence[float]] = []
    for i, row in enumerate(rows):
        where = _row_loc(field, i)
        if isinstance(row, Mapping):
            ordered.append(_in_feature_order(row, feature_names, where))
        elif len(row) != width:
            raise InvalidInputError(
                f"row {i} has {len(row)} features; the model expects {width}: "
                f"{', '.join(feature_names)} (or send an object keyed by those names)",
                loc=where,
            )
        else:
            ordered.append(row)
    with np.errstate(over="ignore"):  # overflow becomes inf, rejected just below
        x = np.asarray(ordered, dtype=np.float32)
    if not np.isfinite(x).all():
        row, column = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
        where = f"{_row_loc(field, row)}.{feature_names[column]}"
        raise InvalidInputError(
            f"{where}: features must fit in float32 (no values beyond ±3.4e38)", loc=where
        )
    return ordered, x


def _row_loc(field: str, index: int) -> str:
    """Where row `index` is in the body: `features` holds one row, `instances` a list."""
    return f"body.{field}" if field == "features" else f"body.{field}.{index}"


def _in_feature_order(row: Mapping[str, float], names: Sequence[str], where: str) -> list[float]:
    if len(row) == len(names):
        try:
            return [row[name] for name in names]
        except KeyError:
            pass  # a name is missing and another is unknown: say which, below
    unknown = [key for key in row if key not in names]
    if unknown:
        # The client's key, made printable: a lone surrogate cannot be encoded as UTF-8 and
        # would turn the 422 into a 500; a long key would bloat the answer.
        key = unknown[0].encode("ascii", "backslashreplace").decode()[:64]
        raise InvalidInputError(
            f"{where}.{key} is not a feature of this model; its features are {', '.join(names)}",
            loc=f"{where}.{key}",
        )
    missing = [name for name in names if name not in row]
    raise InvalidInputError(
        f"{where}.{missing[0]} is missing; the model expects {', '.join(names)}"
        + (f" ({len(missing)} missing)" if len(missing) > 1 else ""),
        loc=f"{where}.{missing[0]}",
    )
