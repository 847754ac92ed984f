"""`python -m infra_tools diff`: added, removed and changed resources between two synth outputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra_tools.commands import Subparsers
from infra_tools.guardrails.diff import as_markdown, as_text, diff
from infra_tools.synth import load_graph


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two synth outputs (resources added, removed and changed; outputs changed)",
        description="Compare two directories written by `python -m infra_tools synth`.",
    )
    parser.add_argument("before", type=Path, metavar="BEFORE_DIR", help="synth output before")
    parser.add_argument("after", type=Path, metavar="AFTER_DIR", help="synth output after")
    parser.add_argument("--markdown", action="store_true", help="print a PR-comment markdown")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        before, after = load_graph(args.before), load_graph(args.after)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = diff(before, after)
    print(as_markdown(result) if args.markdown else as_text(result))
    return 0
