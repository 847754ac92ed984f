"""`python -m infra_tools check`: the guardrail rules and manifest schemas over a stack, offline."""

from __future__ import annotations

import argparse
import json

from infra_tools.commands import Subparsers, add_stack_arguments, synthesize_stack
from infra_tools.guardrails.evaluate import as_json, as_table, evaluate, has_mandatory
from infra_tools.guardrails.manifests import validate_manifests
from infra_tools.synth import Synthesis


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="evaluate the guardrail policy rules over a stack (exit 1 on a mandatory violation)",
        description="Synthesize STACK offline, run every guardrail rule and validate every "
        "Kubernetes manifest against its schema. Exit 1 on any mandatory violation.",
    )
    add_stack_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=run)


def report(synthesis: Synthesis, as_json_output: bool = False) -> tuple[int, str]:
    """(exit code, printed report) for one synthesized stack."""
    violations = evaluate(synthesis.resources)
    manifests = synthesis.graph.manifests()
    schema_errors = validate_manifests(manifests)
    failed = has_mandatory(violations) or bool(schema_errors)
    if as_json_output:
        document = as_json(synthesis.stack, violations)
        document["manifestErrors"] = schema_errors
        document["passed"] = not failed
        return int(failed), json.dumps(document, indent=2)
    lines = [as_table(synthesis.stack, violations)]
    lines.append(f"manifests: {len(manifests)} checked, {len(schema_errors)} invalid")
    lines += [f"MANDATORY manifest-schema: {error}" for error in schema_errors]
    return int(failed), "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    exit_code, text = report(synthesize_stack(args), args.json)
    print(text)
    return exit_code
