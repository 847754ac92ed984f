"""Labels that arrive after the prediction (POST /v1/feedback), on any replica.

The prediction id says which model version predicted which class (app.serving.prediction_ids),
so no replica needs to remember its predictions: each verifies the id, checks the label
against that version's classes, counts it in the confusion-matrix counter
`mlops_feedback_total`, and hands the label record to the capture writer, to be joined with
the captured prediction later (app.capture.join).

A label for an id is counted once per replica: each keeps the latest `SEEN_CAPACITY` ids it
counted. The same id sent to another replica, or after a restart, or after its id left that
window, is counted again; the join keeps one label per id (docs/app.md, Feedback).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter

from app import metrics
from app.capture.layout import LabelRecord, iso_time
from app.capture.writer import CaptureWriter
from app.errors import (
    FeedbackAlreadyCountedError,
    InvalidInputError,
    InvalidPredictionIdError,
    ModelNotFoundError,
)
from app.serving.model import ModelHolder
from app.serving.prediction_ids import PredictionIds

SEEN_CAPACITY = 100_000
"""Ids a replica remembers having counted (about 150 bytes each: 15 MB)."""
VERSIONS_KEPT = 32
"""Class lists of earlier versions kept, so late labels do not read the registry each time."""


@dataclass(frozen=True)
class CountedLabel:
    prediction_id: str
    model_version: str
    predicted_class: str
    true_label: str

    @property
    def correct(self) -> bool:
        return self.predicted_class == self.true_label


class ClassCatalog:
    """Each model version's class names: the served model's, else the registry's metadata."""

    def __init__(self, holder: ModelHolder) -> None:
        self._holder = holder
        self._earlier: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def classes(self, version: str) -> tuple[str, ...]:
        model = self._holder.current
        if model is not None and model.version == version:
            return model.class_names
        with self._lock:
            if version in self._earlier:
                self._earlier.move_to_end(version)
                return self._earlier[version]
        try:
            names = tuple(self._holder.registry.metadata(version).class_names)
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(
                f"the prediction was made by model version {version}, which is no longer in "
                f"the registry ({exc}); its label cannot be counted"
            ) from exc
        with self._lock:
            self._earlier[version] = names
            while len(self._earlier) > VERSIONS_KEPT:
                self._earlier.popitem(last=False)
        return names


class FeedbackRecorder:
    """Verifies, counts and captures labels for one model's predictions."""

    def __init__(
        self,
        ids: PredictionIds,
        model_name: str,
        classes: Callable[[str], tuple[str, ...]],
        capture: CaptureWriter,
        seen_capacity: int = SEEN_CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ids = ids
        self._model_name = model_name
        self._classes = classes
        self._capture = capture
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_capacity = seen_capacity
        self._prepared: set[str] = set()
        self._lock = threading.Lock()
        self._clock = clock

    def prepare(self, version: str, class_names: tuple[str, ...]) -> None:
        """Create the served version's counters at 0 before its first label: Prometheus's
        increase() cannot see a series' first step, so the first label would go unseen."""
        if version in self._prepared:
            return
        self._prepared.add(version)
        for predicted in class_names:
            for true in class_names:
                self._counter(version, predicted, true)

    def record(self, prediction_id: str, true_label: str) -> CountedLabel:
        """Count the label; InvalidPredictionIdError for an id not issued here,
        InvalidInputError for a label the model does not know, FeedbackAlreadyCountedError
        for an id this replica counted already."""
        issued = self._ids.verify(prediction_id)
        class_names = self._classes(issued.model_version)
        if not 0 <= issued.class_index < len(class_names):
            raise InvalidPredictionIdError(
                f"prediction_id {prediction_id!r} names class {issued.class_index}, but version "
                f"{issued.model_version} has {len(class_names)} classes"
            )
        if true_label not in class_names:
            raise InvalidInputError(
                f"true_label {true_label!r} is not a class of model version "
                f"{issued.model_version}; use one of {', '.join(class_names)}"
            )
        self._remember(prediction_id)
        label = CountedLabel(
            prediction_id=prediction_id,
            model_version=issued.model_version,
            predicted_class=class_names[issued.class_index],
            true_label=true_label,
        )
        self._counter(label.model_version, label.predicted_class, true_label).inc()
        now = self._clock()
        self._capture.capture_label(
            LabelRecord(
                prediction_id=prediction_id,
                time=iso_time(now),
                model_name=self._model_name,
                model_version=label.model_version,
                predicted_class=label.predicted_class,
                true_label=true_label,
            ),
            now,
        )
        return label

    def _remember(self, prediction_id: str) -> None:
        with self._lock:
            if prediction_id in self._seen:
                raise FeedbackAlreadyCountedError(
                    f"a label for prediction_id {prediction_id!r} was already counted; the "
                    "first label of a prediction is the one kept"
                )
            self._seen[prediction_id] = None
            while len(self._seen) > self._seen_capacity:
                self._seen.popitem(last=False)

    def _counter(self, version: str, predicted: str, true: str) -> Counter:
        return metrics.FEEDBACK.labels(
            model_name=self._model_name,
            model_version=version,
            predicted_class=predicted,
            true_class=true,
            outcome="correct" if predicted == true else "incorrect",
        )
