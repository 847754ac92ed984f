"""Two or more checkouts of the model server measured side by side, their phases interleaved.

    .venv/bin/python -m bench.interleaved [--rounds 8] [--seconds 4] [--rate 3000] DIR DIR...

A DIR is a checkout of this project, for instance the previous release beside this one:
`git worktree add ../previous <tag>`, then `python -m bench.interleaved ../previous .`.

Why not `make bench` once per release: this machine's speed drifts by tens of percent from
one day to the next, and within an hour by more than a change worth measuring, so two releases
measured one after the other differ by the hour as much as by their code. Here every
checkout's server is up at once (the same model, everything a pod runs); each round runs an
open-loop phase at --rate, a saturated single-row phase and a saturated batch phase against
each server in a new random order, while the others idle. The summary gives each checkout's
medians over the rounds, min to max, and its ratio to the first checkout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

import uvloop

from bench.loadgen import closed_phase, open_phase, request
from bench.serving_runs import ModelServer, bodies, measured, model_server, train_model

FIGURES = ("open_p99_ms", "single_req_per_s", "single_cpu_us_per_request", "batch_rows_per_s")


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
    if len(args.checkouts) < 2:
        parser.error("give two checkouts or more, e.g. `../previous .`")
    for checkout in args.checkouts:
        if not (checkout / "bench" / "server.py").is_file():
            parser.error(
                f"{checkout}: not a checkout of this project with a benchmark server "
                "(bench/server.py); make one with `git worktree add DIR <tag>`"
            )
    labels = [str(checkout) for checkout in args.checkouts]
    if len(set(labels)) < len(labels):
        parser.error(f"{labels}: a checkout is given twice")
    if min(args.rounds, args.batch, args.concurrency) < 1 or min(args.seconds, args.rate) <= 0:
        parser.error("--rounds, --batch and --concurrency must be >= 1; --seconds and --rate > 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-interleaved-"))
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
        for server in servers.values():
            _warm_up(server, args)
        for number in range(1, args.rounds + 1):
            order = list(servers)
            random.shuffle(order)
            for label in order:
                rounds[label].append(_round(servers[label], args))
            print(f"round {number} of {args.rounds}: {json.dumps(_last(rounds))}", file=sys.stderr)
    summary = summarize(rounds)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2))
    print(json.dumps(summary, indent=2))


def _warm_up(server: ModelServer, args: argparse.Namespace) -> None:
    warm_up = argparse.Namespace(requests=3000, seconds=5, concurrency=args.concurrency)
    for body in bodies(args.batch):
        uvloop.run(closed_phase(server.port, request(server.port, server.key, body), warm_up))


def _round(server: ModelServer, args: argparse.Namespace) -> dict[str, float]:
    pid, port = server.process.pid, server.port
    single, batch = (request(port, server.key, body) for body in bodies(args.batch))
    phase = argparse.Namespace(
        requests=10**9, seconds=args.seconds, open_seconds=args.seconds,
        concurrency=args.concurrency,
    )  # fmt: skip
    opened = measured(pid, open_phase(port, single, args.rate, phase))
    saturated = measured(pid, closed_phase(port, single, phase))
    batched = measured(pid, closed_phase(port, batch, phase))
    return {
        "open_p99_ms": opened["p99_ms"],
        "single_req_per_s": saturated["req_per_s"],
        "single_cpu_us_per_request": saturated["server_cpu_us_per_request"],
        "batch_rows_per_s": round(batched["req_per_s"] * args.batch),
    }


def _last(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {label: figures[-1] for label, figures in rounds.items()}


def summarize(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per checkout and figure: median over the rounds, min, max, and the median's ratio to
    the first checkout's."""
    medians = {
        label: {name: statistics.median(r[name] for r in figures) for name in FIGURES}
        for label, figures in rounds.items()
    }
    first = medians[next(iter(rounds))]
    return {
        label: {
            name: {
                "median": round(medians[label][name], 2),
                "min": min(r[name] for r in figures),
                "max": max(r[name] for r in figures),
                "ratio_to_first": round(medians[label][name] / first[name], 3),
            }
            for name in FIGURES
        }
        for label, figures in rounds.items()
    }


if __name__ == "__main__":
    main()
