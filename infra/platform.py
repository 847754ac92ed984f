"""The platform, read top to bottom like its architecture diagram.

Config is validated first; only then are components declared, each with explicit
providers, so a bad stack file declares nothing at all.
"""

from __future__ import annotations

import pulumi

from infra.config import load_stack_config
from infra.providers import aws_provider


def declare_platform() -> None:
    config, _secrets = load_stack_config()
    aws = aws_provider(config)

    pulumi.export("environment", config.environment)
    pulumi.export("region", config.aws.region)
    pulumi.export("awsProviderUrn", aws.urn)
