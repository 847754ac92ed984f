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
        return self


class CapacityConfig(ConfigModel):
    system: NodePoolConfig = NodePoolConfig(instance_types=["m6i.large"], min_size=2, max_size=6)
    """CPU nodes for system and serving pods."""
    gpu: GpuPoolConfig = GpuPoolConfig(instance_types=["g5.xlarge"], min_size=0, max_size=2)
    """GPU nodes for training jobs only (tainted)."""
