"""`python -m infra_tools cost`: what a stack costs per month, idle and busy, offline."""

from __future__ import annotations

import argparse
import json
import sys

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.guardrails.cost import CostError, as_table, estimate


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="estimate a stack's monthly cost (idle and busy) from the repo's price table",
        description="Synthesize STACK offline and price every resource with "
        "infra_tools/guardrails/prices.yaml (us-east-1).",
    )
    add_stack_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    synthesis = synthesize_stack(args)
    try:
        result = estimate(args.stack, synthesis.resources)
    except CostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_json(), indent=2) if args.json else as_table(result))
    return 0
