"""Live accuracy from labels that arrive after the prediction (POST /v1/feedback)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

from app import metrics
from app.errors import InvalidInputError, PredictionNotFoundError


class FeedbackTracker:
    """Remembers the latest predictions (bounded) and the outcome of the latest labels."""

    def __init__(self, pending_capacity: int, window: int) -> None:
        self._pending: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._capacity = pending_capacity
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._lock = threading.Lock()

    def remember(self, prediction_id: str, predicted: str, classes: tuple[str, ...]) -> None:
        with self._lock:
            self._pending[prediction_id] = (predicted, classes)
            while len(self._pending) > self._capacity:
                self._pending.popitem(last=False)

    def label(self, prediction_id: str, true_label: str) -> tuple[bool, float]:
        """Record the true label; (was the prediction correct, rolling accuracy)."""
        with self._lock:
            entry = self._pending.get(prediction_id)
            if entry is None:
                raise PredictionNotFoundError(
                    f"prediction_id {prediction_id!r} is unknown, already labelled or too old; "
                    "send the id returned by /v1/predict"
                )
            predicted, classes = entry
            if true_label not in classes:
                raise InvalidInputError(
                    f"true_label {true_label!r} is not a class of the model; use one of "
                    f"{', '.join(classes)}"
                )
            del self._pending[prediction_id]
            correct = predicted == true_label
            self._outcomes.append(correct)
            accuracy = sum(self._outcomes) / len(self._outcomes)
        metrics.FEEDBACK.labels(outcome="correct" if correct else "incorrect").inc()
        metrics.LIVE_ACCURACY.set(accuracy)
        return correct, accuracy
