"""`python -m infra synth`: write a stack's resource graph, outputs and manifests."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from infra.commands import Subparsers
from infra.synth import synthesize, write_synthesis
from infra.synth.stackfile import PROJECT_ROOT


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="synthesize a stack offline into resources.json, outputs.json and manifests/",
        description="Run the Pulumi program under the mock runtime for STACK and write its graph.",
    )
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or local")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_ROOT,
        help="directory holding the Pulumi.<stack>.yaml files (default: this repository)",
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    synthesis = synthesize(args.stack, args.project_dir)
    write_synthesis(synthesis, args.out)
    for notice in synthesis.notices:
        print(f"note: {notice}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    manifests = len(synthesis.manifests())
    print(
        f"synthesized stack {args.stack}: {len(synthesis.resources)} resources, "
        f"{manifests} Kubernetes objects -> {args.out} ({elapsed:.1f}s)"
    )
    return 0
