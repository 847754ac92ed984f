"""Prediction ids: what they carry comes back out, and only under the key and model that
signed them."""

from __future__ import annotations

import itertools

import pytest

from app.errors import InvalidPredictionIdError
from app.serving.prediction_ids import MAX_ID_CHARS, PredictionIds

KEY = b"k" * 32


def test_an_id_says_which_version_predicted_which_class_and_when() -> None:
    ids = PredictionIds(KEY, "iris-classifier")
    issued = ids.verify(ids.issue("12", 2, 1_764_549_325.123))
    assert (issued.model_version, issued.class_index) == ("12", 2)
    assert issued.issued_at == pytest.approx(1_764_549_325.123)


def test_a_version_with_dots_survives_the_round_trip() -> None:
    ids = PredictionIds(KEY, "iris-classifier")
    assert ids.verify(ids.issue("2.1.0", 1, 0.0)).model_version == "2.1.0"


def test_ids_are_unique_and_fit_the_request_field() -> None:
    ids = PredictionIds(KEY, "iris-classifier")
    issued = [ids.issue("123456", 0, 1_764_549_325.0) for _ in range(1000)]
    assert len(set(issued)) == 1000
    assert max(map(len, issued)) <= MAX_ID_CHARS


def test_replicas_issue_different_ids_in_the_same_millisecond() -> None:
    # Two pods behind one Service: the same version, class and time must still give two ids.
    replicas = [PredictionIds(KEY, "iris-classifier") for _ in range(50)]
    issued = {ids.issue("3", 1, 1_764_549_325.0) for ids in replicas}
    assert len(issued) == 50


def test_an_exhausted_counter_draws_a_new_prefix_instead_of_repeating() -> None:
    ids = PredictionIds(KEY, "iris-classifier")
    ids._counter = itertools.count(0xFFFFFFFF)  # as after 2^32 - 1 ids
    last, wrapped = ids.issue("1", 0, 0.0), ids.issue("1", 0, 0.0)
    assert last != wrapped
    # Sixteen hex digits, as every id has: the count started again under a new prefix.
    assert [len(pid.split(".")[-2]) for pid in (last, wrapped)] == [16, 16]
    assert ids.verify(wrapped).model_version == "1"


@pytest.mark.parametrize(
    "verifier",
    [
        PredictionIds(b"x" * 32, "iris-classifier"),
        PredictionIds(KEY, "other-model"),
    ],
    ids=["another key", "another model"],
)
def test_an_id_verifies_only_under_its_key_and_model(verifier: PredictionIds) -> None:
    pid = PredictionIds(KEY, "iris-classifier").issue("1", 0, 0.0)
    with pytest.raises(InvalidPredictionIdError, match="signature does not match"):
        verifier.verify(pid)


@pytest.mark.parametrize("junk", ["", "p1", "p1.", "é" * 10, "x.y.z", "p1.1.0.0.0."])
def test_junk_is_refused_naming_the_field(junk: str) -> None:
    with pytest.raises(InvalidPredictionIdError, match=r"^prediction_id "):
        PredictionIds(KEY, "iris-classifier").verify(junk)
