"""`python -m infra_tools synth`: write a stack's resource graph, outputs and manifests."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.synth import write_synthesis


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="synthesize a stack offline into resources.json, outputs.json and manifests/",
        description="Run the Pulumi program under the mock runtime for STACK and write its graph.",
    )
    add_stack_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    synthesis = synthesize_stack(args)
    write_synthesis(synthesis, args.out)
    for notice in synthesis.notices:
        print(f"note: {notice}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    manifests = len(synthesis.graph.manifests())
    print(
        f"synthesized stack {args.stack}: {len(synthesis.resources)} resources, "
        f"{manifests} Kubernetes objects -> {args.out} ({elapsed:.1f}s)"
    )
    return 0
