"""Two or more checkouts of the model server measured side by side, their phases interleaved.

    .venv/bin/python -m bench.interleaved [--rounds 8] [--seconds 4] [--rate 3000] DIR DIR...

A DIR is a checkout of this project, for instance the previous release beside this one:
`git worktree add ../previous <commit>`, then `python -m bench.interleaved ../previous .`.
Every server runs on the Python environment running this command, with its own checkout's
code first on the path: a release whose dependencies differ from these is not comparable here.

Why not `make bench` once per release: this machine's speed drifts by tens of percent from
one day to the next, and within an hour by more than a change worth measuring, so two releases
measured one after the other differ by the hour as much as by their code. Here every
checkout's server is up at once (the same model, everything a pod runs); each round runs an
open-loop phase at --rate, a saturated single-row phase and a saturated batch phase against
each server in a new random order, while the others idle (all but their capture writers,
which upload what they hold once its oldest record is a minute old: that CPU may fall in
another server's phase). The summary gives each checkout's medians over the rounds, min to
max, and, paired round by round, its ratio to the first checkout (a difference for CPU): the
median and range of the rounds' ratios. A phase with a failed or unsent request stops the run:
a comparison with errors in it compares nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import uvloop

from bench.loadgen import closed_phase, open_phase, request
from bench.serving_runs import ModelServer, bodies, measured, model_server, train_model

FIGURES = (
    "open_p99_ms",
    "single_req_per_s",
    "single_p99_ms",
    "single_cpu_us_per_request",
    "batch_rows_per_s",
)
DIFFERENCES = frozenset({"single_cpu_us_per_request"})
"""Figures compared to the first checkout's as a difference, not a ratio."""


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("checkouts", type=Path, nargs="+", metavar="DIR")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase")
    parser.add_argument("--rate", type=float, default=3000.0, help="open loop, requests/s")
    parser.add_argument("--batch", type=int, default=32, help="rows per batched request")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--model-dir", type=Path, help="default: one trained for the run")
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = arguments()
    # Intermixed: options may come between the checkouts (`../previous --rounds 4 .`).
    args = parser.parse_intermixed_args(argv)
    _check_checkouts(parser, args.checkouts)
    _check_numbers(parser, args)
    if args.model_dir is not None:
        # Absolute: each server runs in its own checkout, where a relative path would differ.
        args.model_dir = args.model_dir.resolve()
        if not (args.model_dir / "model.onnx").is_file():
            parser.error(
                f"--model-dir {args.model_dir}: no model.onnx there; make one with "
                "`python -m app train --data packaged --output DIR`, or leave it out"
            )
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: directory {args.json.parent} does not exist")
    return args


def _check_checkouts(parser: argparse.ArgumentParser, checkouts: list[Path]) -> None:
    if len(checkouts) < 2:
        parser.error("give two checkouts or more, e.g. `../previous .`")
    for checkout in checkouts:
        if not (checkout / "bench" / "server.py").is_file():
            parser.error(
                f"{checkout}: not a checkout of this project with a benchmark server "
                "(bench/server.py); make one with `git worktree add DIR <commit>`"
            )
    places = [checkout.resolve() for checkout in checkouts]
    if len(set(places)) < len(places):
        parser.error(f"{[str(c) for c in checkouts]}: one directory is given twice")


def _check_numbers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    counts = {"--rounds": args.rounds, "--batch": args.batch, "--concurrency": args.concurrency}
    for flag, count in counts.items():
        if count < 1:
            parser.error(f"{flag} {count}: must be 1 or more")
    for flag, value in (("--seconds", args.seconds), ("--rate", args.rate)):
        if not (math.isfinite(value) and value > 0):
            parser.error(f"{flag} {value}: must be a number above 0, e.g. {flag} 4")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-interleaved-"))
    print(f"server logs and captures in {workdir} (removed at the end)", file=sys.stderr)
    model_dir = args.model_dir or train_model(workdir / "model")
    # What a pod runs: every request logged, every prediction captured.
    pod = argparse.Namespace(request_log_sample_rate=1.0, capture_sample_rate=1.0)
    rounds: dict[str, list[dict[str, float]]] = {str(c): [] for c in args.checkouts}
    with contextlib.ExitStack() as stack:
        servers: dict[str, ModelServer] = {}
        for number, checkout in enumerate(args.checkouts):
            captures, log = workdir / f"captures-{number}", workdir / f"server-{number}.log"
            server = model_server(pod, model_dir, captures, log, root=checkout.resolve())
            servers[str(checkout)] = stack.enter_context(server)
        for label, server in servers.items():
            _warm_up(label, server, args)
        for number in range(1, args.rounds + 1):
            order = list(servers)
            random.shuffle(order)
            for label in order:
                rounds[label].append(_round(label, servers[label], args))
            print(f"round {number} of {args.rounds}: {json.dumps(_last(rounds))}", file=sys.stderr)
    summary = summarize(rounds)
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2))
    shutil.rmtree(workdir)


def _warm_up(label: str, server: ModelServer, args: argparse.Namespace) -> None:
    warm_up = argparse.Namespace(requests=3000, seconds=5, concurrency=args.concurrency)
    for body in bodies(args.batch):
        phase = closed_phase(server.port, request(server.port, server.key, body), warm_up)
        _without_failures(label, "warm-up", uvloop.run(phase))


def _round(label: str, server: ModelServer, args: argparse.Namespace) -> dict[str, float]:
    pid, port = server.process.pid, server.port
    single, batch = (request(port, server.key, body) for body in bodies(args.batch))
    phase = argparse.Namespace(
        requests=10**9, seconds=args.seconds, open_seconds=args.seconds,
        concurrency=args.concurrency,
    )  # fmt: skip
    opened = measured(pid, open_phase(port, single, args.rate, phase))
    saturated = measured(pid, closed_phase(port, single, phase))
    batched = measured(pid, closed_phase(port, batch, phase))
    for name, figures in (("open loop", opened), ("single", saturated), ("batch", batched)):
        _without_failures(label, name, figures)
    return {
        "open_p99_ms": opened["p99_ms"],
        "single_req_per_s": saturated["req_per_s"],
        "single_p99_ms": saturated["p99_ms"],
        "single_cpu_us_per_request": saturated["server_cpu_us_per_request"],
        "batch_rows_per_s": round(batched["req_per_s"] * args.batch),
    }


def _without_failures(label: str, phase: str, figures: dict[str, float]) -> None:
    failed, unsent = int(figures["errors"]), int(figures.get("unsent", 0))
    if failed or unsent:
        raise SystemExit(
            f"{label}: {failed} failed and {unsent} unsent requests in the {phase} phase; "
            "its log in the directory named at the start says why, or lower --rate if it "
            "cannot keep up"
        )


def _last(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {label: figures[-1] for label, figures in rounds.items()}


def summarize(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per checkout and figure: median over the rounds, min and max; and the figure against
    the first checkout's in the same round (ratio, or difference for DIFFERENCES), as the
    median of the rounds and its range."""
    first = next(iter(rounds.values()))
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for label, figures in rounds.items():
        summary[label] = {}
        for name in FIGURES:
            values = [r[name] for r in figures]
            paired = [
                r[name] - base[name] if name in DIFFERENCES else r[name] / base[name]
                for r, base in zip(figures, first, strict=True)
            ]
            kind = "difference" if name in DIFFERENCES else "ratio"
            summary[label][name] = {
                "median": round(statistics.median(values), 2),
                "min": min(values),
                "max": max(values),
                f"{kind}_to_first": round(statistics.median(paired), 3),
                f"{kind}_to_first_min": round(min(paired), 3),
                f"{kind}_to_first_max": round(max(paired), 3),
            }
    return summary


if __name__ == "__main__":
    main()
