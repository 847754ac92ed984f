"""Data drift of live inputs against the training reference: PSI and a binned KS statistic.

Both are computed from per-feature bin counts over a sliding window of the last `window`
inputs. Each new input moves one count up and the evicted one down, so an update is O(features)
and memory is bounded by the window, whatever the traffic.

The bins are the training data's quantiles (stored with the model in metadata.json). The KS
statistic is the largest distance between the live and the training CDF at the bin edges; it
equals the two-sample KS statistic when the data takes values only at the edges and is a lower
bound of it otherwise.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from pydantic import BaseModel

# Keeps empty bins from making PSI infinite (log of 0).
PSI_EPSILON = 1e-4
REFERENCE_BINS = 20


class FeatureReference(BaseModel):
    """Training distribution of one feature: bin edges and the share of rows in each bin."""

    edges: list[float]
    """Sorted inner edges; bin i holds values in (edges[i-1], edges[i]]."""
    fractions: list[float]
    """Training share per bin; len(edges) + 1 values summing to 1."""


def build_reference(values: np.ndarray, bins: int = REFERENCE_BINS) -> FeatureReference:
    """Reference of one feature from its training values (quantile edges, deduplicated)."""
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return FeatureReference(edges=edges.tolist(), fractions=(counts / counts.sum()).tolist())


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two bin-share vectors."""
    e = np.clip(expected, PSI_EPSILON, None)
    a = np.clip(actual, PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def binned_ks(expected: np.ndarray, actual: np.ndarray) -> float:
    """Largest distance between the two CDFs at the bin edges."""
    return float(np.max(np.abs(np.cumsum(expected) - np.cumsum(actual))))


class DriftMonitor:
    """Sliding-window drift of every feature; thread-safe, bounded memory.

    A prediction only copies its rows into a ring buffer of the last `window` inputs (a
    constant cost per request, whatever the number of features or bins); the rows are binned
    when statistics are asked for, at scrape time, every 15 s or so rather than on every
    request. The statistics are the same as binning each row on arrival: the window holds the
    same rows either way.
    """

    def __init__(self, references: dict[str, FeatureReference], window: int) -> None:
        self.feature_names = tuple(references)
        self._edges = [np.asarray(references[f].edges) for f in self.feature_names]
        self._expected = [np.asarray(references[f].fractions) for f in self.feature_names]
        self._window = window
        self._ring = np.zeros((window, len(self.feature_names)), dtype=np.float32)
        self._next = 0
        self._filled = 0
        self._lock = threading.Lock()

    def observe(self, rows: np.ndarray) -> None:
        """Add a batch of inputs (rows x features); the oldest beyond the window fall out."""
        rows = rows[-self._window :]
        count = len(rows)
        with self._lock:
            start = self._next
            first = min(count, self._window - start)
            self._ring[start : start + first] = rows[:first]
            if first < count:  # wraps around: the rest goes to the front
                self._ring[: count - first] = rows[first:]
            self._next = (start + count) % self._window
            self._filled = min(self._window, self._filled + count)

    @property
    def size(self) -> int:
        return self._filled

    def statistics(self) -> dict[str, tuple[float, float]]:
        """(PSI, KS) per feature over the current window; NaN before the first input."""
        with self._lock:
            filled = self._filled
            window = self._ring[:filled].copy()
        if filled == 0:
            return {name: (math.nan, math.nan) for name in self.feature_names}
        statistics: dict[str, tuple[float, float]] = {}
        for i, name in enumerate(self.feature_names):
            edges, expected = self._edges[i], self._expected[i]
            bins = np.searchsorted(edges, window[:, i], side="left")
            actual = np.bincount(bins, minlength=len(expected)) / filled
            statistics[name] = (psi(expected, actual), binned_ks(expected, actual))
        return statistics
