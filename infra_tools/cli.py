"""`python -m infra_tools <command>`: the offline tools around the Pulumi program in infra/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from infra.config import ConfigError
from infra_tools.commands import check, cost, diagram, diff, preview, synth, verify

COMMANDS = (synth, preview, verify, check, cost, diagram, diff)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra_tools",
        description="Synthesize, preview, check, price, draw and diff stacks offline.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        exit_code: int = args.handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    return exit_code
