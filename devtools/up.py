"""`make up`: deploy a stack with the Pulumi CLI; on the local stack, onto the embedded AWS,
start the MLflow tracking server on the model bucket, run the app loop against them and
verify everything, then show new data starting a retraining through the bucket's
notification queue. The tracking server keeps running afterwards, like LocalStack
(`make tracking-stop` stops it).

Only `pulumi` itself needs the CLI: when PATH has none, the pinned release is installed into
the tool cache first (devtools/pulumi_cli.py). Every step prints what it does and how long it took.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from app.dataset import packaged_dataset_bytes
from app.settings import Settings
from devtools import localstack, mlflow_server, pulumi_cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = PROJECT_ROOT / ".cache" / "pulumi-state"
OUTPUTS_FILE = PROJECT_ROOT / ".cache" / "up-outputs.json"
STATE_FILE = PROJECT_ROOT / ".cache" / "up-state.json"
APP_PORT = 8080
AWS_ENDPOINT_URL = f"http://127.0.0.1:{localstack.DEFAULT_PORT}"
TRACKING_STATE_DIR = mlflow_server.DEFAULT_STATE_DIR
# The folder holding only the Makefile's pinned uv ($(UV_PATH)). Pulumi.yaml's `toolchain: uv`
# makes the language host run `uv` from PATH, so a machine without its own uv needs this one.
UV_BIN_DIR = PROJECT_ROOT / ".cache" / "uv-path"
# Where the demonstration's second dataset object goes (under the app's dataset prefix).
NEW_DATA_NAME = "arrived-after-the-first-model.csv"
# The second model the local stack serves beside the first: another kind (gradient-boosted
# trees on the packaged Wine data), trained, registered and served by the same code.
SECOND_MODEL_ENV = {
    "MLOPS_MODEL_NAME": "wine-classifier",
    "MLOPS_MODEL_FAMILY": "gradient_boosting",
    "MLOPS_PACKAGED_DATASET": "wine",
    "MLOPS_DATASET_PREFIX": "datasets/wine-classifier/",
    "MLOPS_DATASET_KEY": "datasets/wine-classifier/wine.csv",
}
# The first row of the packaged Wine data: what the second model is asked.
WINE_ROW = {
    "alcohol": 14.23, "malic_acid": 1.71, "ash": 2.43, "alcalinity_of_ash": 15.6,
    "magnesium": 127, "total_phenols": 2.8, "flavanoids": 3.06, "nonflavanoid_phenols": 0.28,
    "proanthocyanins": 2.29, "color_intensity": 5.64, "hue": 1.04,
    "od280_od315_of_diluted_wines": 3.92, "proline": 1065,
}  # fmt: skip
# The retraining `data watch --once` starts runs inside that step; it must not hang `make up`.
WATCH_TIMEOUT_SECONDS = 900.0


class StepError(RuntimeError):
    """A step exited non-zero; its output has already been shown."""


def step(
    title: str, argv: Sequence[str], env: dict[str, str], timeout: float | None = None
) -> None:
    print(f"==> {title}: {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    try:
        result = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, check=False, timeout=timeout)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise StepError(f"{title} did not finish within {timeout:.0f}s") from None
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise StepError(f"{title} failed (exit {result.returncode}) after {elapsed:.1f}s")
    print(f"    done in {elapsed:.1f}s", flush=True)


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepError(f"the model server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise StepError(f"the model server at {url} was not ready within {timeout:.0f}s")


def start_tracking(bucket: str) -> str:
    """The tracking server's URL: the one already running on `bucket`, or a new one."""
    print(f"==> start the tracking server (artifacts in s3://{bucket}/mlflow)", flush=True)
    started = time.perf_counter()
    try:
        server = mlflow_server.ensure(
            s3_endpoint_url=AWS_ENDPOINT_URL, bucket=bucket, state_dir=TRACKING_STATE_DIR
        )
    except mlflow_server.TrackingServerError as exc:
        raise StepError(f"the tracking server did not start: {exc}") from exc
    print(f"    up at {server.url} in {time.perf_counter() - started:.1f}s", flush=True)
    return server.url


def _pulumi_environment(cli_bin_dir: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    # First on PATH for every step: pulumi, the language host it starts from PATH, and uv.
    first = [str(cli_bin_dir)] if cli_bin_dir is not None else []
    env["PATH"] = os.pathsep.join([*first, str(UV_BIN_DIR), *filter(None, [env.get("PATH")])])
    # A file backend under .cache/ (set per process, so the user's own `pulumi login` stays).
    env.setdefault("PULUMI_BACKEND_URL", STATE_DIR.as_uri())
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", "")
    return env


def _deploy(stack: str, env: dict[str, str]) -> dict[str, str]:
    """`pulumi up`, then the outputs and the state saved for verify; the outputs."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    step("select the stack", ["pulumi", "stack", "select", "--create", stack], env)
    step("deploy", ["pulumi", "up", "--stack", stack, "--yes", "--skip-preview"], env)
    started = time.perf_counter()
    outputs = subprocess.run(  # noqa: S603
        ["pulumi", "stack", "output", "--json", "--stack", stack],  # noqa: S607
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    OUTPUTS_FILE.write_text(outputs)
    values: dict[str, str] = json.loads(outputs)
    print(f"==> stack outputs -> {OUTPUTS_FILE} ({time.perf_counter() - started:.1f}s)")
    # The state names every deployed resource by URN: verify checks exactly those.
    export = ["pulumi", "stack", "export", "--stack", stack, "--file", str(STATE_FILE)]
    step("export the stack's state", export, env)
    return values


@contextmanager
def _serving(python: str, env: dict[str, str], port: int) -> Iterator[str]:
    """`python -m app serve` on 127.0.0.1:`port` with `env`, until the block ends; its URL
    once ready."""
    server = subprocess.Popen([python, "-m", "app", "serve"], cwd=PROJECT_ROOT, env=env)  # noqa: S603
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def _run_app_loop(stack: str, python: str, app_env: dict[str, str]) -> None:
    """Seed, train, register and promote, then serve the model and verify the whole stack."""
    step("seed the training data", [python, "-m", "app", "data", "upload"], app_env)
    step("train, register and promote", [python, "-m", "app", "train", "--promote"], app_env)
    print(f"==> start the model server on 127.0.0.1:{APP_PORT}", flush=True)
    started = time.perf_counter()
    with _serving(python, app_env, APP_PORT) as url:
        print(f"    ready in {time.perf_counter() - started:.1f}s", flush=True)
        verify = [python, "-m", "infra_tools", "verify", "--stack", stack]
        app = ["--app-url", url, "--api-key-env", "MLOPS_UP_API_KEY"]
        step("verify", [*verify, "--state", str(STATE_FILE), *app], app_env)


def serve_second_model(python: str, app_env: dict[str, str]) -> dict[str, object]:
    """Seed, train and promote the second model, serve it beside the first and ask it one
    prediction by feature name; its answer."""
    port = APP_PORT + 1  # beside the first model's
    env = {**app_env, **SECOND_MODEL_ENV, "MLOPS_PORT": str(port)}
    name = SECOND_MODEL_ENV["MLOPS_MODEL_NAME"]
    step(f"seed {name}'s training data", [python, "-m", "app", "data", "upload"], env)
    train = [python, "-m", "app", "train", "--promote"]
    step(f"train, register and promote {name} (gradient-boosted trees)", train, env)
    print(f"==> serve {name} on 127.0.0.1:{port}, beside the first", flush=True)
    with _serving(python, env, port) as url:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL of our own
            f"{url}/v1/predict",
            data=json.dumps({"features": WINE_ROW}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {env['MLOPS_UP_API_KEY']}",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer: dict[str, object] = json.loads(response.read())
    print(f"    {name} answered: {json.dumps(answer)[:200]}", flush=True)
    return answer


def new_measurements() -> str:
    """Rows that arrived after the first model: the packaged data measured 3 % larger (new
    rows, the same every run, so a second `make up` adds nothing and retrains nothing)."""
    lines = packaged_dataset_bytes().decode().splitlines()
    moved = [
        ",".join([*(f"{float(v) * 1.03:.2f}" for v in line.split(",")[:-1]), line.split(",")[-1]])
        for line in lines[1:]
        if line
    ]
    return "\n".join([lines[0], *moved]) + "\n"


def _retrain_on_new_data(python: str, app_env: dict[str, str], queue_url: str) -> None:
    """New data lands: the bucket notifies the stack's queue (every object created under
    `datasets/`, the seed upload's too), and the consumer the cluster's trigger runs starts one
    retraining for the batch; here it runs in-process and `--once` waits for it to end."""
    prefix = Settings.model_fields["dataset_prefix"].default
    with tempfile.TemporaryDirectory(prefix="mlops-up-") as tmp:
        rows = Path(tmp) / NEW_DATA_NAME
        rows.write_text(new_measurements())
        upload = [
            *(python, "-m", "app", "data", "upload", "--file", str(rows)),
            *("--key", f"{prefix}{NEW_DATA_NAME}"),
        ]
        step("new data lands in the bucket", upload, app_env)
    watch = [python, "-m", "app", "data", "watch", "--queue-url", queue_url, "--once"]
    step(
        "retrain from its notification",
        [*watch, "--wait-seconds", "10"],
        app_env,
        timeout=WATCH_TIMEOUT_SECONDS,
    )


def deploy_local(stack: str, python: str, cli_bin_dir: Path | None = None) -> str:
    """Deploy, start the tracking server, run the app loop and verify, then retrain from a
    dataset notification; the tracking UI's URL."""
    env = _pulumi_environment(cli_bin_dir)
    outputs = _deploy(stack, env)
    bucket = outputs["modelBucketName"]
    tracking_url = start_tracking(bucket)
    api_key = secrets.token_urlsafe(24)
    app_env = {
        **env,
        "MLOPS_BUCKET": bucket,
        "MLOPS_S3_ENDPOINT_URL": AWS_ENDPOINT_URL,
        "MLOPS_SQS_ENDPOINT_URL": AWS_ENDPOINT_URL,
        "MLOPS_TRACKING_URI": tracking_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "MLOPS_API_KEYS": api_key,
        # The server signs prediction ids with it and refuses to start without one.
        "MLOPS_PREDICTION_ID_KEY": secrets.token_urlsafe(32),
        "MLOPS_UP_API_KEY": api_key,
        "MLOPS_PORT": str(APP_PORT),
    }
    _run_app_loop(stack, python, app_env)
    serve_second_model(python, app_env)
    _retrain_on_new_data(python, app_env, outputs["datasetQueueUrl"])
    return tracking_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.up", description=__doc__)
    parser.add_argument("--stack", default="local", help="stack to deploy (default: local)")
    args = parser.parse_args(argv)
    if args.stack != "local":
        print(
            f"error: `make up` deploys only the local stack; deploy {args.stack} through CI "
            f"(see docs/operations.md, Deploying) or run `pulumi up --stack {args.stack}` yourself",
            file=sys.stderr,
        )
        return 2
    try:
        cli_bin_dir = pulumi_cli.ensure()
    except pulumi_cli.PulumiCliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        tracking_url = deploy_local(args.stack, sys.executable, cli_bin_dir)
    except (StepError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        "stack local is up, both models answer (iris-classifier, wine-classifier), verify is "
        "green, and new data retrains"
    )
    print(f"Tracking UI: {tracking_url} (it keeps running; `make tracking-stop` stops it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
