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
    """Sliding-window drift of every feature; thread-safe, bounded memory."""

    def __init__(self, references: dict[str, FeatureReference], window: int) -> None:
        self.feature_names = tuple(references)
        self._edges = [np.asarray(references[f].edges) for f in self.feature_names]
        self._expected = [np.asarray(references[f].fractions) for f in self.feature_names]
        self._window = window
        # Ring buffer of bin indices, one row per input, and running counts per bin.
        self._ring = np.zeros((window, len(self.feature_names)), dtype=np.int32)
        self._counts = [np.zeros(len(e), dtype=np.int64) for e in self._expected]
        self._next = 0
        self._filled = 0
        self._lock = threading.Lock()

    def observe(self, rows: np.ndarray) -> None:
        """Add a batch of inputs (rows x features); the oldest beyond the window fall out."""
        bins = np.stack(
            [
                np.searchsorted(edges, rows[:, i], side="left")
                for i, edges in enumerate(self._edges)
            ],
            axis=1,
        )
        with self._lock:
            for row in bins[-self._window :]:
                if self._filled == self._window:
                    for i, old in enumerate(self._ring[self._next]):
                        self._counts[i][old] -= 1
                else:
                    self._filled += 1
                self._ring[self._next] = row
                for i, new in enumerate(row):
                    self._counts[i][new] += 1
                self._next = (self._next + 1) % self._window

    @property
    def size(self) -> int:
        return self._filled

    def statistics(self) -> dict[str, tuple[float, float]]:
        """(PSI, KS) per feature over the current window; NaN before the first input."""
        with self._lock:
            counts = [c.copy() for c in self._counts]
            filled = self._filled
        if filled == 0:
            return {name: (math.nan, math.nan) for name in self.feature_names}
        return {
            name: (psi(expected, c / filled), binned_ks(expected, c / filled))
            for name, expected, c in zip(self.feature_names, self._expected, counts, strict=True)
        }
