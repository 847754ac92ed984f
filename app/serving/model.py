"""The served model: loaded only after its sha256 checks out, swapped atomically on a new alias.

Requests read `holder.current` once and keep that object for the whole request, so a swap
(one reference assignment) never drops or mixes an in-flight request.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import onnxruntime as ort

from app import metrics
from app.drift import DriftMonitor
from app.errors import AppError, ArtifactIntegrityError, ModelNotFoundError
from app.registry import ModelMetadata, S3ModelRegistry

log = logging.getLogger(__name__)


class LoadedModel:
    def __init__(self, artifact: bytes, meta: ModelMetadata, drift_window: int) -> None:
        options = ort.SessionOptions()
        # One thread per inference: requests are tiny, and the event loop is the parallelism.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
        self.meta = meta
        self.version = meta.version
        self.class_names = tuple(meta.class_names)
        self.feature_count = len(meta.feature_names)
        self.drift = DriftMonitor(meta.reference, drift_window)
        # The labelled children, resolved once: `labels()` per prediction takes a lock and
        # formats the label values every time.
        self.prediction_counters = tuple(
            metrics.PREDICTIONS.labels(model_version=meta.version, predicted_class=name)
            for name in self.class_names
        )

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        logits = np.asarray(self.session.run(["logits"], {"input": rows})[0])
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


class ModelHolder:
    """Follows one alias of the registry; keeps the last good model when anything fails."""

    def __init__(self, registry: S3ModelRegistry, alias: str, drift_window: int) -> None:
        self.registry = registry
        self.alias = alias
        self.drift_window = drift_window
        self.current: LoadedModel | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the alias's version if it changed; True when a new model is now served."""
        try:
            record, _ = self.registry.alias(self.alias)
            if self.current is not None and self.current.version == record.version:
                return False
            artifact, meta = self.registry.artifact(record.version)
            loaded = LoadedModel(artifact, meta, self.drift_window)
        except AppError as exc:
            self._failed(_reason(exc), str(exc))
            return False
        except Exception as exc:  # onnxruntime rejects an unreadable artifact with its own errors
            self._failed("invalid_artifact", f"{type(exc).__name__}: {exc}")
            return False
        previous, self.current = self.current, loaded
        metrics.MODEL_INFO.clear()
        metrics.MODEL_INFO.labels(
            model_name=self.registry.model_name, model_version=meta.version
        ).set(1)
        metrics.MODEL_READY.set(1)
        log.info(
            "model loaded",
            extra={
                "model_version": meta.version,
                "previous_version": previous.version if previous else None,
                "alias": self.alias,
            },
        )
        return True

    def _failed(self, reason: str, message: str) -> None:
        metrics.MODEL_LOAD_FAILURES.labels(reason=reason).inc()
        metrics.MODEL_READY.set(1 if self.current is not None else 0)
        log.error(
            "model load failed; still serving the current model",
            extra={
                "reason": reason,
                "error": message,
                "serving_version": self.current.version if self.current else None,
            },
        )

    def start_polling(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="alias-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _reason(exc: AppError) -> str:
    if isinstance(exc, ArtifactIntegrityError):
        return "checksum_mismatch"
    if isinstance(exc, ModelNotFoundError):
        return "not_found"
    return exc.code
