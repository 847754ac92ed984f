"""app.json_pieces: values written in one serializer call and split must be exactly the JSON
the serializer writes for each value on its own."""

from __future__ import annotations

import json

import pydantic_core
import pytest

from app import json_pieces

AWKWARD_STRINGS = ["", "plain", 'a "quoted", "comma"', '","', "back\\slash", "ünïcode", "%s"]


def test_number_rows_are_each_value_as_the_serializer_writes_it() -> None:
    rows = [[5.1, -0.0, 3, 1e-300], [1e20, 5e-324], [0.1], []]
    assert json_pieces.number_rows(rows) == [
        [pydantic_core.to_json(value) for value in row] for row in rows
    ]
    assert json_pieces.number_rows([]) == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), None, True, "1"])
def test_a_value_that_is_not_a_finite_number_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        json_pieces.number_rows([[1.0], [2.0, bad]])  # type: ignore[list-item]


@pytest.mark.parametrize("nested", [[[[1.0], [2.0]]], [[1.0, (2.0, 3.0)], [4.0]]])
def test_a_value_that_is_itself_a_list_is_refused_not_split_into_rows(nested: object) -> None:
    with pytest.raises(ValueError, match="not a number"):
        json_pieces.number_rows(nested)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[None, "a"], ["a", None], ["a", 1, "b"]])
def test_a_value_that_is_not_a_string_is_refused(bad: list[object]) -> None:
    with pytest.raises(ValueError, match="not a string"):
        json_pieces.string_bodies(bad)  # type: ignore[arg-type]


def test_string_bodies_are_each_string_as_json_between_its_quotes() -> None:
    bodies = json_pieces.string_bodies(AWKWARD_STRINGS)
    assert [b'"' + body + b'"' for body in bodies] == [
        pydantic_core.to_json(text) for text in AWKWARD_STRINGS
    ]
    assert json_pieces.string_bodies([]) == []


@pytest.mark.parametrize("text", AWKWARD_STRINGS)
def test_template_text_survives_percent_formatting(text: str) -> None:
    assert json.loads((json_pieces.template_text(text) + b"%s") % (b"",)) == text
