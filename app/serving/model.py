"""The served model: loaded only after its sha256 and its graph check out, swapped atomically
on a new alias.

Requests read `holder.current` once and keep that object for the whole request, so a swap
(one reference assignment) never drops or mixes an in-flight request.

When the alias's version cannot be loaded, `holder.problem` says why (a reason code and a
message) for `/readyz`, for prediction errors and for `mlops_model_load_error{reason}`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from app import metrics, model_checks
from app.drift import DriftMonitor
from app.errors import (
    AliasNotFoundError,
    AppError,
    ArtifactIntegrityError,
    ModelNotFoundError,
    ModelNotReadyError,
)
from app.registry import ModelMetadata, S3ModelRegistry
from app.serving.coalescing import InferenceCoalescer
from app.serving.schemas import Readiness
from app.serving.shadow import ShadowScorer, retire

log = logging.getLogger(__name__)

NO_MODEL_PROMOTED = "no_model_promoted"
"""Reason when the alias object does not exist (S3 404): a first deploy, not a broken pod."""


class LoadedModel:
    def __init__(
        self,
        artifact: bytes,
        meta: ModelMetadata,
        drift_window: int,
        count_predictions: bool = True,
    ) -> None:
        """`count_predictions=False` for a shadow version: its answers are counted as
        comparisons (app.serving.shadow), never as served predictions."""
        self.session = model_checks.open_session(
            artifact,
            meta,
            f"{meta.model_name} version {meta.version}",
            "not loaded; promote a good version or roll back (`python -m app models rollback`)",
        )
        self.meta = meta
        self.version = meta.version
        self.class_names = tuple(meta.class_names)
        self.feature_count = len(meta.feature_names)
        self.drift = DriftMonitor(meta.reference, drift_window)
        self._coalescer = InferenceCoalescer()
        # The labelled children, resolved once: `labels()` per prediction takes a lock and
        # formats the label values every time.
        self.prediction_counters = (
            tuple(
                metrics.PREDICTIONS.labels(model_version=meta.version, predicted_class=name)
                for name in self.class_names
            )
            if count_predictions
            else ()
        )

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (rows, classes)."""
        return self.session.class_probabilities(rows)

    async def infer(self, rows: np.ndarray) -> np.ndarray:
        """`predict`, in one call with the other requests of this event loop turn (the
        request path: app.serving.coalescing says why)."""
        return await self._coalescer.probabilities(self.predict, rows)


@dataclass(frozen=True)
class LoadProblem:
    """Why the alias's current version is not the one being served."""

    reason: str
    message: str


class ModelHolder:
    """Follows one alias of the registry; keeps the last good model when anything fails."""

    def __init__(self, registry: S3ModelRegistry, alias: str, drift_window: int) -> None:
        self.registry = registry
        self.alias = alias
        self.drift_window = drift_window
        self.current: LoadedModel | None = None
        self.shadow: ShadowScorer | None = None
        """The rollout candidate scored beside `current`, if the alias has one."""
        self._rollout: str | None = None
        """The version the alias's rollout names (loaded or not), to end its series with it."""
        self.problem: LoadProblem | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the alias's version if it changed; True when a new model is now served. Then
        follow the alias's shadow rollout, if any (app.serving.shadow)."""
        try:
            record, _ = self.registry.alias(self.alias)
            changed = self._serve(record.version)
        except AppError as exc:
            self._failed(_reason(exc), str(exc))
            return False
        except Exception as exc:  # a defect, not bad content: keep serving, say what happened
            self._failed("load_error", f"{type(exc).__name__}: {exc}")
            return False
        self._follow_shadow(record.shadow.version if record.shadow else None)
        return changed

    def _serve(self, version: str) -> bool:
        if self.current is not None and self.current.version == version:
            self._serving_the_alias()
            return False
        artifact, meta = self.registry.artifact(version)
        loaded = LoadedModel(artifact, meta, self.drift_window)
        previous, self.current = self.current, loaded
        self._serving_the_alias()
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

    def _follow_shadow(self, version: str | None) -> None:
        served, shadow = self.current, self.shadow
        if version != self._rollout:  # the rollout ended, or another one began
            if self._rollout is not None:
                retire(self._rollout, shadow.served.version if shadow else None)
                log.info("shadow rollout ended", extra={"model_version": self._rollout})
            self._rollout, self.shadow, shadow = version, None, None
            metrics.SHADOW_VERSION.clear()
        if version is None or served is None:
            self.shadow = None
            metrics.SHADOW_VERSION.clear()
            return
        if shadow is not None and shadow.version == version and shadow.served is served:
            return
        try:
            artifact, meta = self.registry.artifact(version)
            candidate = LoadedModel(artifact, meta, self.drift_window, count_predictions=False)
        except Exception as exc:  # any failure: counted, and the rollout is rolled back
            metrics.SHADOW_ERRORS.labels(model_version=version, stage="load").inc()
            log.error(
                "shadow version cannot be loaded",
                extra={"model_version": version, "error": f"{type(exc).__name__}: {exc}"},
            )
            self.shadow = None
            metrics.SHADOW_VERSION.clear()
            return
        self.shadow = ShadowScorer(candidate, served)
        metrics.SHADOW_VERSION.clear()
        metrics.SHADOW_VERSION.labels(model_version=version).set(1)
        log.info(
            "shadow rollout scoring",
            extra={"model_version": version, "served_version": served.version},
        )

    def require(self) -> LoadedModel:
        """The served model, or ModelNotReadyError saying why there is none."""
        model, problem = self.current, self.problem
        if model is not None:
            return model
        if problem is None:
            raise ModelNotReadyError("no verified model is loaded yet; retry shortly")
        if problem.reason == NO_MODEL_PROMOTED:
            raise ModelNotReadyError(
                f"no model has been promoted to alias {self.alias!r} yet; train and promote "
                "one: `python -m app train --promote` (or `python -m app models promote VERSION`)"
            )
        raise ModelNotReadyError(f"no model is loaded: {problem.message}")

    def readiness(self) -> Readiness:
        """`/readyz`: ready when a model is served or none has been promoted yet; otherwise
        ModelNotReadyError whose code is the reason (a broken rollout never becomes ready)."""
        model, problem = self.current, self.problem
        if model is not None:
            return Readiness(
                status="ready",
                model_version=model.version,
                reason=problem.reason if problem else None,
                message=f"{problem.message}; serving version {model.version}" if problem else None,
            )
        if problem is None:
            raise ModelNotReadyError("no verified model is loaded yet; retry shortly")
        if problem.reason == NO_MODEL_PROMOTED:
            return Readiness(
                status="no_model_promoted", reason=problem.reason, message=problem.message
            )
        raise ModelNotReadyError(problem.message, reason=problem.reason)

    def _serving_the_alias(self) -> None:
        self.problem = None
        metrics.MODEL_LOAD_ERROR.clear()

    def _failed(self, reason: str, message: str) -> None:
        if reason == NO_MODEL_PROMOTED:
            message = f"no model promoted yet: {message}"
        self.problem = LoadProblem(reason, message)
        metrics.MODEL_LOAD_ERROR.clear()
        metrics.MODEL_LOAD_ERROR.labels(reason=reason).set(1)
        metrics.MODEL_LOAD_FAILURES.labels(reason=reason).inc()
        metrics.MODEL_READY.set(1 if self.current is not None else 0)
        serving = self.current.version if self.current else None
        log.log(
            logging.INFO if reason == NO_MODEL_PROMOTED else logging.ERROR,
            "model load failed; still serving the current model"
            if serving
            else "model load failed; no model is served",
            extra={"reason": reason, "error": message, "serving_version": serving},
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
    """The reason label: the error's code, with the names the dashboards already use."""
    if isinstance(exc, AliasNotFoundError):
        return NO_MODEL_PROMOTED
    if isinstance(exc, ArtifactIntegrityError):
        return "checksum_mismatch"
    if isinstance(exc, ModelNotFoundError):
        return "not_found"
    return exc.code
