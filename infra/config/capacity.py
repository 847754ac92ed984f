"""Node capacity config: `mlops-platform:capacity`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from infra.config.base import ConfigModel

# Instance families that carry NVIDIA GPUs; a GPU pool of anything else would never
# schedule a training pod.
GPU_INSTANCE_FAMILIES = (
    "g4dn",
    "g5",
    "g5g",
    "g6",
    "g6e",
    "gr6",
    "p3",
    "p3dn",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
)


# Types with an Elastic Fabric Adapter (the larger sizes only); EFA elsewhere fails at launch.
EFA_INSTANCE_TYPES = (
    "g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge",
    "g6.8xlarge", "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge",
    "g6e.8xlarge", "g6e.12xlarge", "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge",
    "g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge", "g4dn.metal",
    "p3dn.24xlarge", "p4d.24xlarge", "p4de.24xlarge",
    "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
)  # fmt: skip
ARM_GPU_FAMILIES = ("g5g",)
# The GPU each family carries, as the `k8s.amazonaws.com/accelerator` node label names it.
ACCELERATORS = {
    "g4dn": "nvidia-tesla-t4", "g5": "nvidia-a10g", "g5g": "nvidia-t4g", "g6": "nvidia-l4",
    "g6e": "nvidia-l40s", "gr6": "nvidia-l4", "p3": "nvidia-tesla-v100",
    "p3dn": "nvidia-tesla-v100", "p4d": "nvidia-a100", "p4de": "nvidia-a100",
    "p5": "nvidia-h100", "p5e": "nvidia-h200", "p5en": "nvidia-h200",
}  # fmt: skip


class NodePoolConfig(ConfigModel):
    instance_types: list[str] = Field(min_length=1)
    """EC2 instance types, most preferred first."""
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """ON_DEMAND or SPOT. Default ON_DEMAND."""
    min_size: int = Field(default=0, ge=0)
    """Fewest nodes. Default 0."""
    max_size: int = Field(default=3, ge=1)
    """Most nodes. Default 3."""
    disk_size_gib: int = Field(default=50, ge=20, le=16384)
    """Encrypted gp3 root volume size. Default 50 GiB."""

    @model_validator(mode="after")
    def _max_not_below_min(self) -> NodePoolConfig:
        if self.max_size < self.min_size:
            raise ValueError(
                f"maxSize={self.max_size} is below minSize={self.min_size}; "
                "raise maxSize or lower minSize"
            )
        return self


class GpuPoolConfig(NodePoolConfig):
    min_size: int = Field(default=0, ge=0)
    """Fewest GPU nodes. Default 0, so the pool costs nothing while no training runs."""
    placement_group: bool = False
    """Put GPU nodes in a cluster placement group for multi-node training. Default off."""
    efa: bool = False
    """Attach Elastic Fabric Adapters (only on EFA-capable types). Default off."""

    @model_validator(mode="after")
    def _types_have_gpus(self) -> GpuPoolConfig:
        for instance_type in self.instance_types:
            family = instance_type.split(".")[0]
            if family not in GPU_INSTANCE_FAMILIES:
                raise ValueError(
                    f"instanceTypes entry {instance_type!r} has no NVIDIA GPU; "
                    f"use a type from the families {', '.join(GPU_INSTANCE_FAMILIES)}"
                )
        arm = {t.split(".")[0] in ARM_GPU_FAMILIES for t in self.instance_types}
        if len(arm) > 1:
            raise ValueError(
                f"instanceTypes={self.instance_types} mixes Arm (g5g) and x86 types; "
                "one node group runs one AMI, so list only one architecture"
            )
        if self.efa:
            missing = [t for t in self.instance_types if t not in EFA_INSTANCE_TYPES]
            if missing:
                raise ValueError(
                    f"efa=true but instanceTypes {missing} have no Elastic Fabric Adapter; "
                    "use e.g. g5.12xlarge or p4d.24xlarge, or set efa to false"
                )
        return self

    @property
    def accelerator(self) -> str:
        """The pool's `k8s.amazonaws.com/accelerator` label: one GPU model, or `nvidia-mixed`
        when the types differ (the autoscaler needs the label, not a particular value)."""
        names = {ACCELERATORS[t.split(".")[0]] for t in self.instance_types}
        return names.pop() if len(names) == 1 else "nvidia-mixed"

    @property
    def ami_type(self) -> str:
        """EKS AMI type: Amazon Linux 2023 with the NVIDIA driver, for the pool's architecture."""
        if self.instance_types[0].split(".")[0] in ARM_GPU_FAMILIES:
            return "AL2023_ARM_64_NVIDIA"
        return "AL2023_x86_64_NVIDIA"


class CapacityConfig(ConfigModel):
    system: NodePoolConfig = NodePoolConfig(instance_types=["m6i.large"], min_size=2, max_size=6)
    """CPU nodes for system and serving pods."""
    gpu: GpuPoolConfig = GpuPoolConfig(instance_types=["g5.xlarge"], min_size=0, max_size=2)
    """GPU nodes for training jobs only (tainted)."""
