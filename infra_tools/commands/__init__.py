"""Subcommands of `python -m infra_tools`; each module offers `register(subparsers)`."""

import argparse
from pathlib import Path
from typing import TypeAlias

from infra_tools.synth import Synthesis, synthesize
from infra_tools.synth.stackfile import PROJECT_ROOT

# argparse exposes no public name for the object add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # pyright: ignore[reportPrivateUsage]


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """`--stack` and `--project-dir`, the same for every command that reads a stack file."""
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or local")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_ROOT,
        help="directory holding the Pulumi.<stack>.yaml files (default: this repository)",
    )


def synthesize_stack(args: argparse.Namespace) -> Synthesis:
    """The stack named by `add_stack_arguments`' options, synthesized offline."""
    return synthesize(args.stack, args.project_dir)
