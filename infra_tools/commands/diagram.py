"""`python -m infra_tools diagram`: draw a stack's architecture, grouped by component."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.guardrails.diagram import DETAILS, DiagramError, render, to_dot


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "diagram",
        help="draw a stack's architecture as SVG or PNG (graphviz)",
        description="Synthesize STACK offline and draw its architecture: one box per component"
        " (default) or every resource (--detail resources).",
    )
    add_stack_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="output file, .svg or .png")
    # No argparse `choices`: to_dot names the bad value and the accepted ones itself.
    parser.add_argument(
        "--detail",
        default="components",
        help=f"level of detail, one of: {', '.join(DETAILS)} (default: components)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    synthesis = synthesize_stack(args)
    try:
        render(to_dot(args.stack, synthesis.resources, args.detail), args.out)
    except DiagramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"drew stack {args.stack} -> {args.out}")
    return 0
