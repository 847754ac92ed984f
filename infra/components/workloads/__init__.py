"""What runs on the cluster: namespaces, and per model a server, GPU training and a trigger."""

from infra.components.workloads.common import PodResources
from infra.components.workloads.exposure import Exposure
from infra.components.workloads.namespaces import Namespaces, NamespacesArgs
from infra.components.workloads.retrain_trigger import RetrainTrigger, RetrainTriggerArgs
from infra.components.workloads.serving import Serving, ServingArgs
from infra.components.workloads.training import Training, TrainingArgs

__all__ = [
    "Exposure",
    "Namespaces",
    "NamespacesArgs",
    "PodResources",
    "RetrainTrigger",
    "RetrainTriggerArgs",
    "Serving",
    "ServingArgs",
    "Training",
    "TrainingArgs",
]
