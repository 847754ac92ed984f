"""Every Prometheus metric of the app, in one registry (names are a contract: CONTRACTS.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Serving
HTTP_REQUESTS = Counter(
    "mlops_http_requests_total",
    "HTTP requests by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "mlops_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route"],
    # Sub-millisecond buckets: a prediction takes well under 10 ms.
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "mlops_predictions_total",
    "Predictions served by model version and predicted class.",
    ["model_version", "predicted_class"],
    registry=REGISTRY,
)
MODEL_INFO = Gauge(
    "mlops_model_info",
    "1 for the model version being served.",
    ["model_name", "model_version"],
    registry=REGISTRY,
)
MODEL_READY = Gauge("mlops_model_ready", "1 when a verified model is loaded.", registry=REGISTRY)
MODEL_LOAD_FAILURES = Counter(
    "mlops_model_load_failures_total",
    "Failed model loads or alias polls, by reason.",
    ["reason"],
    registry=REGISTRY,
)
MODEL_LOAD_ERROR = Gauge(
    "mlops_model_load_error",
    "1, labelled by reason, while the alias's version is not the one served (none promoted "
    "yet, checksum mismatch, access denied, ...); no sample once it is.",
    ["reason"],
    registry=REGISTRY,
)
FEATURE_DRIFT_PSI = Gauge(
    "mlops_feature_drift_psi",
    "Population stability index of live inputs against the training reference.",
    ["feature"],
    registry=REGISTRY,
)
FEATURE_DRIFT_KS = Gauge(
    "mlops_feature_drift_ks",
    "KS statistic (max CDF distance) of live inputs against the training reference.",
    ["feature"],
    registry=REGISTRY,
)
FEEDBACK = Counter(
    "mlops_feedback_total",
    "Labels counted (POST /v1/feedback) by the model version that made the prediction, the "
    "class it predicted, the true class, and the outcome (correct when the two agree): a "
    "confusion matrix that sums over pods. Accuracy, precision, recall and F1 are recording "
    "rules over it.",
    ["model_name", "model_version", "predicted_class", "true_class", "outcome"],
    registry=REGISTRY,
)

# Captures (app.capture): what the model saw and answered, and the labels, in the bucket.
CAPTURE_DROP_REASONS = ("queue_full", "write_failed", "encode_failed")
CAPTURE_WRITTEN = Counter(
    "mlops_capture_records_written_total",
    "Capture records uploaded to the model bucket, by stream (predictions|labels).",
    ["stream"],
    registry=REGISTRY,
)
CAPTURE_DROPPED = Counter(
    "mlops_capture_records_dropped_total",
    "Capture records lost, by stream and reason: queue_full (the in-memory bound was reached, "
    "e.g. while the bucket is slow), write_failed (the upload failed) or encode_failed (a "
    "defect: the record could not be written as JSON). Sampled-out predictions are not "
    "counted.",
    ["stream", "reason"],
    registry=REGISTRY,
)
CAPTURE_FLUSHES = Counter(
    "mlops_capture_flushes_total",
    "Capture object uploads by outcome (ok|failed).",
    ["outcome"],
    registry=REGISTRY,
)
CAPTURE_FLUSH_DURATION = Histogram(
    "mlops_capture_flush_duration_seconds",
    "Time to finish and upload one capture object (its records are compressed as they arrive).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
CAPTURE_QUEUE = Gauge(
    "mlops_capture_queued_records",
    "Capture records held in memory, not yet uploaded.",
    registry=REGISTRY,
)

# Training
TRAINING_LOSS = Gauge(
    "mlops_training_loss", "Final training loss of the best candidate.", registry=REGISTRY
)
TRAINING_THROUGHPUT = Gauge(
    "mlops_training_samples_per_second", "Training throughput.", registry=REGISTRY
)
TRAINING_DURATION = Gauge(
    "mlops_training_duration_seconds", "Wall time of the last training run.", registry=REGISTRY
)
TRAINING_RUNS = Counter(
    "mlops_training_runs_total", "Training runs by status.", ["status"], registry=REGISTRY
)

# Shadow rollouts (app.serving.shadow): the candidate version's live answers beside the served
# version's, which `models rollout` judges.
SHADOW_COMPARISONS = Counter(
    "mlops_shadow_comparisons_total",
    "Live rows scored by the shadow version, by whether it predicted the served version's class.",
    ["model_version", "served_version", "outcome"],
    registry=REGISTRY,
)
SHADOW_REQUESTS = Counter(
    "mlops_shadow_requests_total",
    "Live requests the shadow version scored (the rollout's evidence is counted in requests, "
    "so one large batch cannot settle it).",
    ["model_version", "served_version"],
    registry=REGISTRY,
)
SHADOW_ERRORS = Counter(
    "mlops_shadow_errors_total",
    "Shadow version failures (stage: load or predict); any one rolls the rollout back.",
    ["model_version", "stage"],
    registry=REGISTRY,
)
SHADOW_VERSION = Gauge(
    "mlops_shadow_version_info",
    "1 for the version being scored in shadow on this pod.",
    ["model_version"],
    registry=REGISTRY,
)
