"""Names that decide where pods land, shared by the capacity, workloads and monitoring code.

Plain constants only: importing this module declares nothing.
"""

from __future__ import annotations

from typing import Final

POOL_LABEL: Final = "mlops-platform/pool"
"""Node label key naming the pool a node belongs to."""
SYSTEM_POOL: Final = "system"
"""`POOL_LABEL` value of the CPU nodes (system add-ons, serving, monitoring)."""
GPU_POOL: Final = "gpu"
"""`POOL_LABEL` value of the GPU nodes (training jobs only)."""

GPU_RESOURCE: Final = "nvidia.com/gpu"
"""Extended resource the NVIDIA device plugin advertises; training pods request it."""
ACCELERATOR_LABEL: Final = "k8s.amazonaws.com/accelerator"
"""Node label cluster-autoscaler (AWS) reads to know a node has GPUs before the device plugin
has advertised them; without it one pending training pod can launch several GPU nodes."""
EFA_RESOURCE: Final = "vpc.amazonaws.com/efa"
"""Extended resource AWS's EFA device plugin advertises; a pod must request it to use EFA."""
GPU_TAINT_KEY: Final = "nvidia.com/gpu"
GPU_TAINT_VALUE: Final = "true"
GPU_TAINT_EFFECT: Final = "NoSchedule"
"""Only pods tolerating `nvidia.com/gpu=true:NoSchedule` land on GPU nodes."""

SYSTEM_NODE_SELECTOR: Final = {POOL_LABEL: SYSTEM_POOL}
GPU_NODE_SELECTOR: Final = {POOL_LABEL: GPU_POOL}
GPU_TOLERATIONS: Final = [
    {
        "key": GPU_TAINT_KEY,
        "operator": "Equal",
        "value": GPU_TAINT_VALUE,
        "effect": GPU_TAINT_EFFECT,
    }
]
"""Toleration list (Kubernetes JSON shape) a training pod needs for the GPU taint."""

GP3_STORAGE_CLASS: Final = "gp3-encrypted"
"""StorageClass of encrypted gp3 EBS volumes (EBS CSI driver), e.g. for Prometheus."""

ROLE_ARN_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
"""ServiceAccount annotation that binds it to an IAM role (IRSA)."""
