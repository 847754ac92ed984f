"""The model servers: one identity and one set of Secrets, and a serving workload per model.

One Deployment per model rather than one server holding every model: each model's memory,
CPU and failures stay its own (a large or crash-looping model cannot starve or take down
another), each scales on its own load, and each rolls out on its own; the image and code are
the same. What every model shares is declared once here: the ServiceAccount (the serving IAM
role reads every model), the API keys clients send and the key prediction ids are signed with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from infra.components.workloads import common
from infra.components.workloads.exposure import Exposure
from infra.components.workloads.model_server import ServedModel, declare_model_server
from infra.components.workloads.serving_secrets import api_keys_secret, prediction_id_key_secret
from infra.contracts import MODEL_SERVER, SERVING_SERVICE_ACCOUNT

NAME = MODEL_SERVER
COMPONENT = "serving"


@dataclass(frozen=True, kw_only=True)
class ServingArgs:
    k8s_provider: pulumi.ProviderResource
    """Provider of the EKS cluster."""
    namespace: pulumi.Input[str]
    """Namespace the servers run in (Pod Security `restricted`)."""
    image: pulumi.Input[str]
    """Full image reference: `<ecr url>:<tag>` or `<ecr url>@sha256:...`."""
    role_arn: pulumi.Input[str]
    """IAM role of the ServiceAccount (reads models/ and decrypts with the bucket key)."""
    bucket: pulumi.Input[str]
    """Model bucket name."""
    region: str
    """Region of the model bucket."""
    api_keys: pulumi.Input[str]
    """Comma-separated API keys (a Pulumi secret); stored in a Kubernetes Secret."""
    models: Sequence[ServedModel]
    """The models served, a Deployment, Service and HPA each."""
    target_cpu_percent: int
    """Average CPU utilization each HPA keeps its pods at."""
    high_availability: bool
    """Spread each model's pods over zones and guard them with a PodDisruptionBudget."""
    exposure: Exposure
    """The load balancer per model (or none) and which clients the NetworkPolicies admit."""


class Serving(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops-platform:workloads:Serving", name, None, opts)
        child = pulumi.ResourceOptions(provider=args.k8s_provider, parent=self)
        labels = common.labels(NAME, COMPONENT)
        # The shared pieces keep their resource names, so a stack that served one model keeps
        # its prediction-id key (feedback on earlier predictions still verifies).
        account = common.irsa_service_account(
            f"{name}-sa", SERVING_SERVICE_ACCOUNT, args.namespace, labels, args.role_arn, child
        )
        keys = api_keys_secret(name, args.namespace, args.api_keys, labels, child)
        id_key = prediction_id_key_secret(name, args.namespace, labels, self, child)
        for model in args.models:
            declare_model_server(
                f"{name}-{model.spec.name}", args, model, account, (keys, id_key), child
            )
        self.register_outputs({})


__all__ = ["NAME", "Serving", "ServingArgs"]
