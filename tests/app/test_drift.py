"""Drift maths against scipy and hand-computed cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.stats import ks_2samp

from app.drift import DriftMonitor, FeatureReference, binned_ks, build_reference, psi


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    result: Any = ks_2samp(a, b)
    return float(result.statistic)


def test_psi_matches_a_hand_computed_case() -> None:
    expected = np.array([0.5, 0.5])
    actual = np.array([0.8, 0.2])
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(expected, actual) == pytest.approx(by_hand)


def test_identical_distributions_have_no_drift() -> None:
    values = np.arange(100, dtype=float)
    monitor = DriftMonitor({"x": build_reference(values)}, window=100)
    monitor.observe(values.reshape(-1, 1))
    drift_psi, drift_ks = monitor.statistics()["x"]
    assert drift_psi == pytest.approx(0.0, abs=1e-9)
    assert drift_ks == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("shift", [0, 1, 3, 6])
def test_ks_equals_scipy_when_values_sit_on_the_bin_edges(shift: int) -> None:
    reference = np.repeat(np.arange(10, dtype=float), 10)
    live = np.repeat(np.arange(10, dtype=float) + shift, 3)[:25]
    monitor = DriftMonitor({"x": build_reference(reference)}, window=len(live))
    monitor.observe(live.reshape(-1, 1))
    _, drift_ks = monitor.statistics()["x"]
    assert drift_ks == pytest.approx(_ks(reference, live))


def test_ks_never_exceeds_scipy_on_continuous_data() -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(size=2000)
    live = rng.normal(loc=0.5, size=300)
    monitor = DriftMonitor({"x": build_reference(reference)}, window=300)
    monitor.observe(live.reshape(-1, 1))
    drift_psi, drift_ks = monitor.statistics()["x"]
    exact = _ks(reference, live)
    assert exact - 0.06 <= drift_ks <= exact + 1e-9
    assert drift_psi > 0.1


def test_window_forgets_old_inputs() -> None:
    rng = np.random.default_rng(1)
    reference = rng.normal(size=1000)
    monitor = DriftMonitor({"x": build_reference(reference)}, window=200)
    monitor.observe((reference[:200] + 5).reshape(-1, 1))
    shifted_psi, _ = monitor.statistics()["x"]
    for row in reference[200:400]:
        monitor.observe(np.array([[row]]))
    recovered_psi, _ = monitor.statistics()["x"]
    assert monitor.size == 200
    assert shifted_psi > 1.0
    assert recovered_psi < 0.1


def test_no_inputs_yet_is_nan_not_zero() -> None:
    monitor = DriftMonitor({"x": FeatureReference(edges=[0.0], fractions=[0.5, 0.5])}, window=10)
    assert all(math.isnan(v) for v in monitor.statistics()["x"])


def test_the_window_holds_exactly_the_last_inputs_across_wraparounds() -> None:
    # Batches of uneven sizes, some larger than the window: the statistics must be those of
    # the last `window` rows, binned afresh.
    rng = np.random.default_rng(7)
    training = rng.normal(size=(500, 2))
    references = {name: build_reference(training[:, i]) for i, name in enumerate(("left", "right"))}
    monitor = DriftMonitor(references, window=37)
    seen: list[np.ndarray] = []
    for size in (5, 30, 1, 80, 36, 37, 3):
        batch = rng.normal(loc=0.5, size=(size, 2)).astype(np.float32)
        monitor.observe(batch)
        seen.append(batch)
        last = np.concatenate(seen)[-37:]
        assert monitor.size == len(last)
        for i, name in enumerate(("left", "right")):
            reference = references[name]
            bins = np.searchsorted(np.asarray(reference.edges), last[:, i], side="left")
            actual = np.bincount(bins, minlength=len(reference.fractions)) / len(last)
            expected = np.asarray(reference.fractions)
            assert monitor.statistics()[name] == pytest.approx(
                (psi(expected, actual), binned_ks(expected, actual))
            )
