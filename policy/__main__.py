"""Policy pack `mlops-platform-guardrails`: the shared rules, served to the Pulumi engine.

Each rule becomes one stack validation (bucket versioning, encryption and access blocks are
separate resources in pulumi-aws, so the rules need the whole stack, not one resource).
The engine's resources are converted to the synthesized-graph format the rules read.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The pack runs from policy/; the shared rules are in the repository's infra_tools package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import Policy, PolicyPack

from policy.adapter import stack_policies

PolicyPack(name="mlops-platform-guardrails", policies=list[Policy](stack_policies()))
