"""Typed stack config: the only package that reads `pulumi.Config`."""

from infra.config.errors import ConfigError
from infra.config.loader import PROJECT, SECRETS, StackSecrets, load_stack_config
from infra.config.model import StackConfig

__all__ = ["PROJECT", "SECRETS", "ConfigError", "StackConfig", "StackSecrets", "load_stack_config"]
