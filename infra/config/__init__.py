"""Typed stack config: the only package that reads `pulumi.Config`."""

from infra.config.errors import ConfigError
from infra.config.loader import PROJECT, load_stack_config
from infra.config.model import StackConfig
from infra.config.secrets import SECRETS, ClusterSecrets, StackSecrets

__all__ = [
    "PROJECT",
    "SECRETS",
    "ClusterSecrets",
    "ConfigError",
    "StackConfig",
    "StackSecrets",
    "load_stack_config",
]
