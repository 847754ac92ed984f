"""`python -m infra_tools verify`: check that what a stack declares is what exists in AWS.

Exit 0 when every declared property holds, 1 with one line per mismatch, 2 when it could
not look (no credentials, unreachable endpoint, bad arguments). It never changes anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from infra_tools.commands import Subparsers
from infra_tools.state import StateError, read_state
from infra_tools.synth import synthesize
from infra_tools.verify import VerifyError, check_app, read_outputs, target_for, verify_declared


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="compare a deployed stack with what it declares (read-only)",
        description=(
            "Synthesize STACK offline, then check with read-only AWS calls that every declared "
            "bucket, key, network and cluster setting holds. Exit 0: all hold; 1: mismatches, "
            "one per line; 2: could not check."
        ),
    )
    parser.add_argument("--stack", required=True, help="stack name: dev, prod or local")
    parser.add_argument(
        "--endpoint-url",
        help="one endpoint for every AWS service (LocalStack); default: the stack's aws:endpoints",
    )
    # The state names every resource; the outputs only those the stack exports, and without
    # either verify searches by the stack's tags.
    named_by = parser.add_mutually_exclusive_group()
    named_by.add_argument(
        "--state",
        type=Path,
        help="`pulumi stack export --file FILE` of the deployment; takes each declared "
        "resource's physical id from it by URN (nothing is searched for)",
    )
    named_by.add_argument(
        "--outputs",
        type=Path,
        help="`pulumi stack output --json` of the deployment; names the resources it exports "
        "instead of finding them by the stack's tags",
    )
    parser.add_argument("--app-url", help="base URL of the model server, e.g. https://ml.example")
    parser.add_argument(
        "--api-key-env",
        help="name of the environment variable holding an API key (needed with --app-url)",
    )
    parser.add_argument(
        "--first-model-training",
        action="store_true",
        help="a first training is running: a server with no model promoted yet is healthy "
        "(without this flag it is a mismatch)",
    )
    parser.set_defaults(handler=run)


def _api_key(args: argparse.Namespace) -> str:
    if not args.api_key_env:
        raise VerifyError(
            "--app-url needs --api-key-env VAR, the environment variable holding an API key"
        )
    key = os.environ.get(args.api_key_env, "")
    if not key:
        raise VerifyError(
            f"--api-key-env {args.api_key_env}: that environment variable is not set or empty; "
            "export an API key the server accepts"
        )
    return key


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        api_key = _api_key(args) if args.app_url else ""
        outputs: dict[str, Any] = read_outputs(args.outputs) if args.outputs else {}
        state = read_state(args.state, args.stack) if args.state else None
        declared = synthesize(args.stack).graph
        target = target_for(declared, args.endpoint_url, outputs, state)
        problems = verify_declared(declared, target)
        if args.app_url:
            problems += check_app(
                args.app_url, api_key, no_model_yet_is_healthy=args.first_model_training
            )
    except (VerifyError, StateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem.line())
    elapsed = time.perf_counter() - started
    if problems:
        print(f"stack {args.stack}: {len(problems)} mismatch(es) ({elapsed:.1f}s)", file=sys.stderr)
        return 1
    print(f"stack {args.stack}: everything declared is deployed as declared ({elapsed:.1f}s)")
    return 0
