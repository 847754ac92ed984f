"""`python -m infra diff`: added, removed and changed resources between two synth outputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.commands import Subparsers
from infra.guardrails.diff import as_markdown, as_text, diff
from infra.synth import load_resources


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two synth outputs (added, removed and changed resources)",
        description="Compare BEFORE_DIR and AFTER_DIR, each written by `python -m infra synth`.",
    )
    parser.add_argument("before", type=Path, metavar="BEFORE_DIR", help="synth output before")
    parser.add_argument("after", type=Path, metavar="AFTER_DIR", help="synth output after")
    parser.add_argument("--markdown", action="store_true", help="print a PR-comment markdown")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        before, after = load_resources(args.before), load_resources(args.after)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = diff(before, after)
    print(as_markdown(result) if args.markdown else as_text(result))
    return 0
