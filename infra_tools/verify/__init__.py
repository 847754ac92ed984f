"""`python -m infra_tools verify`: compare what a stack declares with what exists in AWS.

Read-only: every AWS call is a Describe/Get/List. Each declared resource's physical id comes
from the stack's state when given (`--state`, from `pulumi stack export --file`), matched by
URN. Without a state, from the stack outputs (`--outputs`, from `pulumi stack output --json`)
for what they export, else from a search by the provider's default tags (project,
environment, owner, cost-center, managed-by) plus each resource's declared identity: explicit
name or Pulumi's auto-name pattern, CIDR block, or the key a bucket is encrypted with.
"""

from infra_tools.verify.app import check_app
from infra_tools.verify.report import Mismatch, VerifyError
from infra_tools.verify.run import target_for, verify_declared
from infra_tools.verify.target import Target, read_outputs

__all__ = [
    "Mismatch",
    "Target",
    "VerifyError",
    "check_app",
    "read_outputs",
    "target_for",
    "verify_declared",
]
