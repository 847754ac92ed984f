"""Errors named after the condition; `app.serving.api` maps them to HTTP in one place."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the app raises on purpose."""

    status_code = 500
    code = "internal_error"


class ConfigError(AppError):
    """A setting or command-line argument is missing or invalid."""

    status_code = 500
    code = "config_error"


class InvalidInputError(AppError):
    """A client sent a request the model cannot answer."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, message: str, loc: str | None = None) -> None:
        super().__init__(message)
        self.loc = loc
        """The request field at fault, as a 422's details name it (e.g. body.features.x)."""


class DatasetError(AppError):
    """The training data is missing or malformed."""

    status_code = 422
    code = "invalid_dataset"


class AuthenticationError(AppError):
    """No API key, or not a valid one."""

    status_code = 401
    code = "unauthorized"


class ModelNotFoundError(AppError):
    """A model version or alias does not exist in the registry."""

    status_code = 404
    code = "model_not_found"


class AliasNotFoundError(ModelNotFoundError):
    """The alias object does not exist (S3 404): nothing has been promoted to it yet."""

    code = "alias_not_found"


class InvalidPredictionIdError(InvalidInputError):
    """Feedback names a prediction id this service did not issue, or one altered since."""

    code = "invalid_prediction_id"


class FeedbackAlreadyCountedError(AppError):
    """A label for this prediction id was already counted (by this replica)."""

    status_code = 409
    code = "feedback_already_counted"


class VersionExistsError(AppError):
    """Another writer created this model version first (conditional write lost)."""

    status_code = 409
    code = "version_exists"


class AliasConflictError(AppError):
    """The alias moved while we were moving it (conditional write lost); retry."""

    status_code = 409
    code = "alias_conflict"


class PromotionRefusedError(AppError):
    """The candidate is worse than the current version of the alias."""

    status_code = 409
    code = "promotion_refused"


class InvalidModelError(AppError):
    """A version's content is unusable: non-finite metrics, or metadata that disagrees with
    its ONNX graph. Refused at registration, promotion and load."""

    status_code = 422
    code = "invalid_model"


class InvalidRegistryEntryError(AppError):
    """A stored metadata or alias object is not valid JSON of its schema."""

    status_code = 502
    code = "invalid_registry_entry"


class ArtifactIntegrityError(AppError):
    """An artifact's sha256 does not match its metadata; it is never loaded."""

    status_code = 502
    code = "artifact_integrity"


class RegistryUnavailableError(AppError):
    """The model bucket cannot be reached."""

    status_code = 503
    code = "registry_unavailable"


class RegistryAccessDeniedError(RegistryUnavailableError):
    """S3 answered 403: the role lacks a permission (or the key is missing and the role may
    not list the bucket, which makes S3 answer 403 instead of 404)."""

    code = "access_denied"


class TrainingFailedError(AppError):
    """A step of the training pipeline failed (e.g. a candidate's process)."""

    status_code = 500
    code = "training_failed"


class TrackingUnavailableError(AppError):
    """The tracking server (MLflow) cannot be reached, refuses the request, or answers
    something the registry cannot use."""

    status_code = 503
    code = "tracking_unavailable"


class ModelNotReadyError(AppError):
    """No verified model is loaded yet.

    `reason` replaces the code when the cause is known (e.g. `checksum_mismatch`), so a
    probe's body says why the pod is not ready.
    """

    status_code = 503
    code = "model_not_ready"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.code = reason
