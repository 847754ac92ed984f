"""`python -m infra cost`: what a stack costs per month, idle and busy, offline."""

from __future__ import annotations

import argparse
import json
import sys

from infra.commands import Subparsers
from infra.guardrails.cost import CostError, as_table, estimate
from infra.synth import synthesize


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="estimate a stack's monthly cost (idle and busy) from the repo's price table",
        description="Synthesize STACK offline and price every resource with "
        "infra/guardrails/prices.yaml (us-east-1).",
    )
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or local")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    synthesis = synthesize(args.stack)
    try:
        result = estimate(args.stack, synthesis.resources)
    except CostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_json(), indent=2) if args.json else as_table(result))
    return 0
