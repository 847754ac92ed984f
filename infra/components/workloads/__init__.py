"""What runs on the cluster: namespaces, the model server, GPU training and the retrain trigger."""

from infra.components.workloads.deploy import WorkloadInputs, Workloads, declare_workloads
from infra.components.workloads.namespaces import Namespaces, NamespacesArgs
from infra.components.workloads.retrain_trigger import RetrainTrigger, RetrainTriggerArgs
from infra.components.workloads.serving import Serving, ServingArgs
from infra.components.workloads.training import Training, TrainingArgs

__all__ = [
    "Namespaces",
    "NamespacesArgs",
    "RetrainTrigger",
    "RetrainTriggerArgs",
    "Serving",
    "ServingArgs",
    "Training",
    "TrainingArgs",
    "WorkloadInputs",
    "Workloads",
    "declare_workloads",
]
