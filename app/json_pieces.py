"""JSON written in pieces: many rows' numbers and strings in one serializer call each.

Writing a request's records or its answer one dict at a time spends most of its time in
Python: building the dicts and one serializer call per row (measured: 2.8 µs of a capture
record's 3 µs for a batch of 32). The values that vary from row to row are numbers and a few
strings; writing all of them in one call of pydantic's serializer and splitting its output,
then filling them into a template of the row's constant parts, writes the same bytes in a
third of the time.

Splitting is exact: a JSON number holds none of `,[]`, and inside a JSON string every `"` is
escaped, so `","` only ever stands between two strings of an array.
"""

from __future__ import annotations

from collections.abc import Sequence

import pydantic_core

_NUMBER_ARRAY_BYTES = b"0123456789.eE+-,[]"


def number_rows(rows: Sequence[Sequence[float]]) -> list[list[bytes]]:
    """Each row's values as JSON numbers, in order; ValueError when one is not a finite
    number (the serializer would write NaN or Infinity, which JSON has not)."""
    if not rows:
        return []
    written = pydantic_core.to_json(rows)
    if written.translate(None, _NUMBER_ARRAY_BYTES):
        raise ValueError("a value is not a finite number")
    pieces = [row.split(b",") if row else [] for row in written[2:-2].split(b"],[")]
    # Only numbers and brackets got through: a value that is itself a list would still split
    # into the wrong rows, and must not pass for numbers.
    if list(map(len, pieces)) != list(map(len, rows)):
        raise ValueError("a value is not a number")
    return pieces


def string_bodies(strings: Sequence[str]) -> list[bytes]:
    """Each string as JSON, without its quotes: what goes between `"` and `"`."""
    if not strings:
        return []
    written = pydantic_core.to_json(strings)
    bodies = written[2:-2].split(b'","')
    if written[:2] != b'["' or len(bodies) != len(strings):
        raise ValueError("a value is not a string")
    return bodies


def template_text(value: str) -> bytes:
    """A constant string as JSON (with its quotes), ready to sit in a %-template."""
    return pydantic_core.to_json(value).replace(b"%", b"%%")
