"""Champion against challenger: held-out split, scores, and the promotion decision."""

from __future__ import annotations

import numpy as np

from app.dataset import packaged_dataset_bytes, parse_csv
from app.training.evaluation import PromotionPolicy, Scores, decide, split_holdout

POLICY = PromotionPolicy(margin=0.01, f1_tolerance=0.05)


def _scores(accuracy: float, f1: dict[str, float]) -> Scores:
    return Scores(accuracy, dict.fromkeys(f1, 1.0), dict.fromkeys(f1, 1.0), f1, [[0]])


def test_the_holdout_is_about_the_fraction_disjoint_and_the_same_every_time() -> None:
    data = parse_csv(packaged_dataset_bytes())
    train, held = split_holdout(data, 0.2, seed=0)
    assert 20 <= len(held.labels) <= 40 and set(held.labels.tolist()) == {0, 1, 2}
    assert len(train.labels) + len(held.labels) == len(data.labels)
    rows = {tuple(row) for row in train.features.tolist()}
    # Iris has one duplicated row: identical rows land on the same side.
    assert not any(tuple(row) in rows for row in held.features.tolist())
    _, again = split_holdout(data, 0.2, seed=0)
    assert np.array_equal(again.features, held.features)


def test_rows_held_out_stay_held_out_when_data_is_added() -> None:
    # A champion trained on the first version must never have seen the rows it is scored on
    # after new rows arrive.
    first = parse_csv(packaged_dataset_bytes())
    grown = parse_csv(
        packaged_dataset_bytes() + b"5.0,3.3,1.4,0.2,setosa\n6.1,2.9,4.7,1.4,versicolor\n"
    )
    before, held_before = split_holdout(first, 0.2, seed=0)
    _, held_after = split_holdout(grown, 0.2, seed=0)
    trained_on = {tuple(row) for row in before.features.tolist()}
    assert not any(tuple(row) in trained_on for row in held_after.features.tolist())
    assert {tuple(r) for r in held_before.features.tolist()} <= {
        tuple(r) for r in held_after.features.tolist()
    }


def test_a_tie_is_never_promoted() -> None:
    same = _scores(0.9, {"a": 0.9, "b": 0.9})
    decision = decide(same, same, "accuracy", POLICY)
    assert not decision.promote and "does not beat" in decision.reason


def test_a_better_challenger_is_promoted_and_the_first_version_always() -> None:
    old = _scores(0.35, {"a": 0.3, "b": 0.4})
    new = _scores(0.95, {"a": 0.95, "b": 0.95})
    assert decide(new, old, "accuracy", POLICY).promote
    assert decide(new, None, "accuracy", POLICY).promote


def test_a_better_average_that_loses_a_class_beyond_the_tolerance_is_refused() -> None:
    old = _scores(0.80, {"a": 0.95, "b": 0.65})
    new = _scores(0.90, {"a": 0.85, "b": 0.95})
    decision = decide(new, old, "accuracy", POLICY)
    assert not decision.promote and "a 0.850 < 0.950" in decision.reason
    assert decide(new, old, "accuracy", PromotionPolicy(0.01, 0.15)).promote


def test_a_champion_that_answers_one_class_for_everything_defends_nothing_with_it() -> None:
    # Every row labelled virginica: its recall is 1, its F1 only 0.5.
    labels = np.array([0, 0, 1, 1, 2, 2])
    names = ("setosa", "versicolor", "virginica")
    lazy = _from_predictions(labels, np.array([2, 2, 2, 2, 2, 2]), names)
    good = _from_predictions(labels, np.array([0, 0, 1, 1, 2, 1]), names)
    assert lazy.recall["virginica"] == 1.0 and lazy.f1["virginica"] == 0.5
    assert decide(good, lazy, "accuracy", POLICY).promote


def _from_predictions(labels: np.ndarray, predicted: np.ndarray, names: tuple[str, ...]) -> Scores:
    from app.training.evaluation import scores_of

    return scores_of(labels, predicted, names)
