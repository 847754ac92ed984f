"""Names the platform and the app share: namespaces, workloads, service accounts, ports, routes.

Plain typed constants that import nothing, so the app and the tools can import them without
Pulumi. The infra side declares the object under each name (`infra/components/workloads/`,
the IAM roles' trust, the monitors); the app serves or reads it (`app/settings.py`,
`app/trigger/settings.py`, the routes of `app/serving/api.py` and `app/trigger/api.py`).
Until the app imports this module, tests/infra/test_contracts.py holds its defaults equal.
"""

from __future__ import annotations

from typing import Final

SERVING_NAMESPACE: Final = "serving"
"""The model server's namespace (Pod Security `restricted`)."""
TRAINING_NAMESPACE: Final = "training"
"""Training jobs and the retrain trigger (`restricted`); MLOPS_TRIGGER_NAMESPACE."""
MONITORING_NAMESPACE: Final = "monitoring"
"""Prometheus, Alertmanager and Grafana: the only clients admitted to scrape and to retrain."""

MODEL_SERVER: Final = "model-server"
"""The model server's Deployment and Services, and the `app.kubernetes.io/name` monitors
select."""
TRAINER: Final = "trainer"
"""The training pods' `app.kubernetes.io/name` and headless Service (torchrun's rendezvous)."""
RETRAIN_CRONJOB: Final = "retrain"
"""The retraining CronJob whose job template the trigger instantiates; MLOPS_TRIGGER_CRONJOB."""
HARVEST_CRONJOB: Final = "harvest"
"""The daily CronJob turning labelled captures into training rows (training namespace)."""
RETRAIN_TRIGGER: Final = "retrain-trigger"
"""The retrain webhook's Deployment, Service and ServiceAccount (training namespace)."""

SERVING_SERVICE_ACCOUNT: Final = MODEL_SERVER
"""Assumes the serving IAM role (reads models/)."""
TRAINING_SERVICE_ACCOUNT: Final = TRAINER
"""Assumes the training IAM role (reads datasets/, writes models/)."""
GRAFANA_SERVICE_ACCOUNT: Final = "grafana"
"""Grafana's (kube-prometheus-stack values, monitoring namespace): its role reads the logs."""
LOG_SHIPPER_SERVICE_ACCOUNT: Final = "aws-for-fluent-bit"
"""The log shipper's, in kube-system: its role writes the logs."""

HTTP_PORT: Final = 8080
"""Port the model server and the retrain trigger listen on in their pods (MLOPS_PORT,
MLOPS_TRIGGER_PORT; the app's default for both)."""
HTTP_PORT_NAME: Final = "http"
"""Name of that port on containers and Services; probes, policies and monitors use it."""
TRAINING_METRICS_PORT: Final = 9090
"""Port the primary training rank serves /metrics on (MLOPS_METRICS_PORT)."""
METRICS_PORT_NAME: Final = "metrics"
"""Name of that port on the trainer container; the PodMonitor scrapes it."""

HEALTH_PATH: Final = "/healthz"
"""Liveness of the model server and the trigger."""
READY_PATH: Final = "/readyz"
"""Readiness of the model server (a model is served, or none is promoted yet)."""
METRICS_PATH: Final = "/metrics"
"""Prometheus metrics of the model server and of a training run."""
RETRAIN_ALERTS_PATH: Final = "/v1/alerts"
"""Where Alertmanager posts to the trigger."""

SECRETS_DIR: Final = "/var/run/secrets/mlops"
"""Directory the pods' own Secrets are mounted at (read-only)."""
API_KEYS_FILE_NAME: Final = "api-keys"
"""File in SECRETS_DIR with one API key per line (MLOPS_API_KEYS_FILE)."""
TOKEN_FILE_NAME: Final = "token"  # noqa: S105 - a file name, not a secret
"""File in SECRETS_DIR with the retrain webhook's token (MLOPS_TRIGGER_TOKEN_FILE)."""

TRACKING_NAMESPACE: Final = "tracking"
"""The MLflow tracking server's namespace (Pod Security `restricted`)."""
TRACKING_SERVER: Final = "mlflow"
"""The tracking server's Deployment, Service and ServiceAccount (tracking namespace)."""
TRACKING_PORT: Final = 5000
"""Port the tracking server listens on, in its pod and on its Service."""
TRACKING_HOST: Final = f"{TRACKING_SERVER}.{TRACKING_NAMESPACE}.svc.cluster.local"
"""The tracking Service's cluster DNS name."""
TRACKING_URI: Final = f"http://{TRACKING_HOST}:{TRACKING_PORT}"
"""Where training pods log runs and register models (MLOPS_TRACKING_URI)."""

MLFLOW_ARTIFACT_PREFIX: Final = "mlflow/"
"""Model-bucket prefix of MLflow's artifact store; only the tracking server's role touches it."""
DATASETS_PREFIX: Final = "datasets/"
"""Model-bucket prefix of training data: objects created under it notify the dataset queue;
the training role reads it."""
DATASET_PREFIX: Final = f"{DATASETS_PREFIX}iris/"
"""The dataset the platform trains on (MLOPS_DATASET_PREFIX, MLOPS_TRIGGER_DATASET_PREFIX)."""
HARVESTED_FOLDER: Final = "captured/"
"""Folder under a dataset prefix that `data harvest` writes labelled captures to."""
CAPTURE_PREFIX: Final = "captures/"
"""Model-bucket prefix the serving pods write prediction captures and feedback labels to."""
PREDICTION_ID_KEY_FILE_NAME: Final = "prediction-id-key"
"""File in SECRETS_DIR with the serving pods' prediction-id signing key
(MLOPS_PREDICTION_ID_KEY_FILE)."""

RETRAIN_PIPELINE: Final = "retrain-pipeline"
"""The WorkflowTemplate (Argo Workflows, training namespace) a retraining is submitted from:
`argo submit --from workflowtemplate/retrain-pipeline`, or a Workflow whose
`spec.workflowTemplateRef.name` is this."""
RETRAIN_SCHEDULE: Final = "retrain-pipeline-schedule"
"""The CronWorkflow that submits the pipeline on the retraining schedule."""
PIPELINE_CANDIDATES_PARAMETER: Final = "candidates"
"""Its parameter listing the candidates as a JSON list of "HIDDEN:LR" strings."""
PIPELINE_EPOCHS_PARAMETER: Final = "epochs"
"""Its parameter with the epochs per candidate (a decimal string)."""
PIPELINE_PROMOTE_PARAMETER: Final = "promote"
"""Its parameter: "true" promotes the best candidate if it beats the served model, "false"
only registers it."""
WORKFLOW_TEMPLATE_LABEL: Final = "workflows.argoproj.io/workflow-template"
"""Label Argo puts on every Workflow created from a WorkflowTemplate, valued with its name:
how the trigger lists the runs of RETRAIN_PIPELINE."""
WORKFLOWS_API_GROUP: Final = "argoproj.io"
"""API group of `workflows` (version v1alpha1) the trigger creates and lists."""
