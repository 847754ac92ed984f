"""Names the platform and the app share: namespaces, workloads, service accounts, ports, routes.

Plain typed constants that import nothing, so the app and the tools can import them without
Pulumi. The infra side declares the object under each name (`infra/components/workloads/`,
the IAM roles' trust, the monitors); the app serves or reads it (`app/settings.py`,
`app/trigger/settings.py`, the routes of `app/serving/api.py` and `app/trigger/api.py`).
Until the app imports this module, tests/infra/test_contracts.py holds its defaults equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

SERVING_NAMESPACE: Final = "serving"
"""The model server's namespace (Pod Security `restricted`)."""
TRAINING_NAMESPACE: Final = "training"
"""Training jobs and the retrain trigger (`restricted`); MLOPS_TRIGGER_NAMESPACE."""
MONITORING_NAMESPACE: Final = "monitoring"
"""Prometheus, Alertmanager and Grafana: the only clients admitted to scrape and to retrain."""

MODEL_SERVER: Final = "model-server"
"""The model servers' `app.kubernetes.io/name` (every model's), and the prefix of each model's
Deployment and Services (`model_server(model)`)."""
MODEL_LABEL: Final = "mlops-platform/model"
"""Pod label naming the model a pod serves, trains, scores or rolls out; each model's objects
select on it, and the monitors copy it into every scraped series as MODEL_METRIC_LABEL."""
MODEL_METRIC_LABEL: Final = "model"
"""Prometheus label of every series scraped from a model's pods: what rules and dashboards
group by."""
TRAINER: Final = "trainer"
"""The training pods' `app.kubernetes.io/name` and headless Service (torchrun's rendezvous)."""
RETRAIN_CRONJOB: Final = "retrain"
"""Prefix of each model's retraining CronJob (`retrain_cronjob(model)`), whose job template the
model's trigger instantiates (MLOPS_TRIGGER_CRONJOB)."""
HARVEST_CRONJOB: Final = "harvest"
"""Prefix of each model's daily CronJob turning labelled captures into training rows."""
BATCH_SCORE_CRONJOB: Final = "batch-score"
"""Prefix of each model's suspended batch-scoring CronJob (a Job template)."""
ROLLOUT_CRONJOB: Final = "rollout"
"""Prefix of each shadow-rollout model's CronJob deciding its rollout every few minutes."""
RETRAIN_TRIGGER: Final = "retrain-trigger"
"""The retrain triggers' ServiceAccount (every model's), and the prefix of each model's
trigger Deployment and Service (training namespace)."""

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
"""The app's default dataset: the one model of a stack that lists no `app.models` trains on it
(MLOPS_DATASET_PREFIX, MLOPS_TRIGGER_DATASET_PREFIX)."""
SCORING_PREFIX: Final = "scoring/"
"""Model-bucket prefix of batch-scoring inputs and their predictions (`scoring/<model>/`):
outside `datasets/`, so a file to score is never trained on and never starts a retraining."""
HARVESTED_FOLDER: Final = "captured/"
"""Folder under a dataset prefix that `data harvest` writes labelled captures to."""
CAPTURE_PREFIX: Final = "captures/"
"""Model-bucket prefix the serving pods write prediction captures and feedback labels to."""
PREDICTION_ID_KEY_FILE_NAME: Final = "prediction-id-key"
"""File in SECRETS_DIR with the serving pods' prediction-id signing key
(MLOPS_PREDICTION_ID_KEY_FILE)."""

RETRAIN_PIPELINE: Final = "retrain-pipeline"
"""Prefix of each model's WorkflowTemplate (Argo Workflows, training namespace) a retraining is
submitted from: `argo submit --from workflowtemplate/retrain-pipeline-<model>`, or a Workflow
whose `spec.workflowTemplateRef.name` is that; also the pipeline pods' `app.kubernetes.io/name`."""
RETRAIN_SCHEDULE: Final = "retrain-schedule"
"""Prefix of each model's CronWorkflow that submits its pipeline on the retraining schedule."""
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

PROMETHEUS_SERVICE: Final = "kube-prometheus-stack-prometheus"
"""The monitoring stack's Prometheus Service (the chart's release is named after the chart)."""
PROMETHEUS_PORT: Final = 9090
"""Port of that Service and of the Prometheus pods."""
PROMETHEUS_URL: Final = f"http://{PROMETHEUS_SERVICE}.{MONITORING_NAMESPACE}.svc:{PROMETHEUS_PORT}"
"""Where a rollout decision queries the serving metrics (MLOPS_PROMETHEUS_URL)."""


def model_server(model: str) -> str:
    """A model's Deployment, Service, HPA, PodDisruptionBudget, NetworkPolicy, ServiceMonitor."""
    return f"{MODEL_SERVER}-{model}"


def model_load_balancer(model: str) -> str:
    """A model's Service of type LoadBalancer (internal or public exposure)."""
    return f"{model_server(model)}-nlb"


def retrain_cronjob(model: str) -> str:
    return f"{RETRAIN_CRONJOB}-{model}"


def harvest_cronjob(model: str) -> str:
    return f"{HARVEST_CRONJOB}-{model}"


def batch_score_cronjob(model: str) -> str:
    return f"{BATCH_SCORE_CRONJOB}-{model}"


def rollout_cronjob(model: str) -> str:
    return f"{ROLLOUT_CRONJOB}-{model}"


def retrain_trigger(model: str) -> str:
    """A model's trigger Deployment and Service (the ServiceAccount is RETRAIN_TRIGGER)."""
    return f"{RETRAIN_TRIGGER}-{model}"


def retrain_pipeline(model: str) -> str:
    """A model's WorkflowTemplate, and the mutex its runs hold."""
    return f"{RETRAIN_PIPELINE}-{model}"


def retrain_schedule(model: str) -> str:
    """A model's CronWorkflow."""
    return f"{RETRAIN_SCHEDULE}-{model}"


def model_dataset_prefix(model: str) -> str:
    """Where a listed model's training data lies, unless its config names another prefix."""
    return f"{DATASETS_PREFIX}{model}/"


def scoring_input(model: str) -> str:
    """The object a model's batch-scoring Job scores unless told another (MLOPS_SCORE_INPUT)."""
    return f"{SCORING_PREFIX}{model}/to-score.csv"


# The longest name each per-model object may have, and why. A CronJob's own name is limited
# to 52 characters (its Jobs append 11); a CronWorkflow's likewise (its Workflows append a
# 10-digit timestamp and stay within a 63-character label value); a Job or Workflow the
# trigger creates appends `-drift-<7 digits>` or `-<7 digits>` and is a label value (63).
MODEL_NAME_LIMITS: Final[tuple[tuple[str, Callable[[str], str], int], ...]] = (
    ("Service", model_load_balancer, 63),
    ("CronJob", batch_score_cronjob, 52),
    ("CronWorkflow", retrain_schedule, 52),
    ("Job from the retrain trigger", lambda model: f"{retrain_cronjob(model)}-drift-0000000", 63),
    ("Workflow from the retrain trigger", lambda model: f"{retrain_pipeline(model)}-0000000", 63),
    ("Deployment", retrain_trigger, 63),
)
"""(kind, the name derived from a model name, its limit), for the config to check."""
