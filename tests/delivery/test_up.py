"""`make up` without the Pulumi CLI: it uses the pinned CLI from the tool cache, installing it
when it can and saying how to install it by hand when it can't (exit 1); cloud stacks are refused.
After the deploy it starts the tracking server, which the app loop's commands are pointed at and
which keeps running afterwards; after the loop, new data retrains through the stack's queue.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pytest

from devtools import mlflow_server, pulumi_cli, up
from tests.conftest import EmbeddedAws
from tests.ports import free_port


@pytest.fixture
def tool_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty tool cache in place of the project's, and a state folder beside it."""
    cache = tmp_path / "tools" / "pulumi"
    monkeypatch.setattr(pulumi_cli, "TOOLS_DIR", cache)
    monkeypatch.setattr(up, "STATE_DIR", tmp_path / "pulumi-state")
    return cache


def _cached_cli(tool_cache: Path, does: str, exit_code: int = 3) -> None:
    """A Pulumi CLI already in the tool cache whose every binary runs `does`, then exits
    `exit_code`."""
    bin_dir = pulumi_cli.bin_dir(cache_dir=tool_cache)
    bin_dir.mkdir(parents=True)
    for name in pulumi_cli.REQUIRED_BINARIES:
        (bin_dir / name).write_text(f"#!/bin/sh\n{does}\nexit {exit_code}\n")
        (bin_dir / name).chmod(0o755)


def test_up_without_the_pulumi_cli_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")
    assert up.main(["--stack", "local"]) == 1
    err = capsys.readouterr().err
    assert "Pulumi CLI is not on PATH" in err and "get.pulumi.com" in err, err
    assert "make preview STACK=local" in err, err
    assert not tool_cache.exists() or not any(tool_cache.iterdir()), "a failed install left files"


def test_up_runs_the_cli_from_the_tool_cache(
    monkeypatch: pytest.MonkeyPatch,
    tool_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = tmp_path / "pulumi-calls.txt"
    _cached_cli(tool_cache, f'echo "$@" >> {calls}')
    monkeypatch.setenv("PATH", "")
    # Nothing answers here: reaching it would mean the cached CLI was downloaded again.
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")

    assert up.main(["--stack", "local"]) == 1

    assert calls.read_text().splitlines() == ["stack select --create local"]
    assert "select the stack failed (exit 3)" in capsys.readouterr().err


def test_up_gives_pulumi_the_projects_uv(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, tmp_path: Path
) -> None:
    """Pulumi.yaml's `toolchain: uv` makes the language host run `uv` from PATH: the one the
    Makefile installed must be there even where the machine has no uv of its own."""
    seen = tmp_path / "uv-seen-by-pulumi.txt"
    _cached_cli(tool_cache, f"command -v uv > {seen}")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")

    assert up.main(["--stack", "local"]) == 1

    assert seen.read_text().strip() == str(up.UV_BIN_DIR / "uv"), "pulumi would find no uv"


def test_up_refuses_cloud_stacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "pulumi"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert up.main(["--stack", "prod"]) == 2
    assert "deploys only the local stack" in capsys.readouterr().err


def test_up_refuses_cloud_stacks_before_installing_the_cli(
    monkeypatch: pytest.MonkeyPatch, tool_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, f"http://127.0.0.1:{free_port()}")
    assert up.main(["--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "deploys only the local stack" in err and "could not be downloaded" not in err, err


QUEUE_URL = "http://127.0.0.1:4566/000000000000/mlops-local-dataset-events-queue-abc"


def _deploying_cli(tool_cache: Path, bucket: str) -> None:
    """A cached Pulumi CLI whose deploy succeeds with `bucket` as the model bucket."""
    outputs = f'{{"modelBucketName": "{bucket}", "datasetQueueUrl": "{QUEUE_URL}"}}'
    does = f"""case "$1 $2" in
  "stack output") echo '{outputs}' ;;
  "stack export") echo '{{}}' > "$6" ;;
esac"""
    _cached_cli(tool_cache, does, exit_code=0)


def _app_python(tmp_path: Path, calls: Path) -> Path:
    """A stand-in for the app's python that logs each command (its words after `-m`, up to
    the first option) with its MLOPS_TRACKING_URI and MLOPS_MODEL_NAME, and the serve
    command's prediction-id key length and every option of `data watch` to files beside it;
    `app serve` answers /readyz and POST /v1/predict on $MLOPS_PORT, every other command
    succeeds at once."""
    server = tmp_path / "fake_server.py"
    server.write_text(
        "import http.server, json, os, sys\n"
        "class Handler(http.server.BaseHTTPRequestHandler):\n"
        "    def _answer(self, body):\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers(); self.wfile.write(body)\n"
        "    def do_GET(self): self._answer(b'ok')\n"
        "    def do_POST(self):\n"
        "        self.rfile.read(int(self.headers['Content-Length']))\n"
        "        name = os.environ['MLOPS_MODEL_NAME']\n"
        "        self._answer(json.dumps({'model_name': name, 'predictions': []}).encode())\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()\n"
    )
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        "shift\n"
        'words=""; for word in "$@"; do case "$word" in -*) break ;; esac; '
        'words="$words $word"; done\n'
        f'echo "${{words# }} tracking=$MLOPS_TRACKING_URI model=${{MLOPS_MODEL_NAME:-}}" '
        f">> {calls}\n"
        f'if [ "$1 $2 $3" = "app data watch" ]; then echo "$*" > {tmp_path / "watch.txt"}; fi\n'
        'if [ "$1 $2" = "app serve" ]; then\n'
        f'  echo "${{#MLOPS_PREDICTION_ID_KEY}} $MLOPS_SQS_ENDPOINT_URL" '
        f"> {tmp_path / 'serve.txt'}\n"
        f'  exec {sys.executable} {server} "$MLOPS_PORT"\n'
        "fi\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.slow
@pytest.mark.localstack
def test_up_starts_the_tracking_server_for_the_app_loop_and_leaves_it_running(
    monkeypatch: pytest.MonkeyPatch,
    tool_cache: Path,
    tmp_path: Path,
    embedded_aws: EmbeddedAws,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = f"models-{uuid.uuid4().hex[:12]}"
    embedded_aws.client("s3").create_bucket(Bucket=bucket)
    _deploying_cli(tool_cache, bucket)
    calls = tmp_path / "app-calls.txt"
    monkeypatch.setattr(sys, "executable", str(_app_python(tmp_path, calls)))
    monkeypatch.setattr(up, "AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    monkeypatch.setattr(up, "APP_PORT", free_port())
    for name in ("OUTPUTS_FILE", "STATE_FILE"):
        monkeypatch.setattr(up, name, tmp_path / f"{name}.json")
    tracking_state = tmp_path / "tracking"
    monkeypatch.setattr(up, "TRACKING_STATE_DIR", tracking_state)
    try:
        assert up.main(["--stack", "local"]) == 0, capsys.readouterr().err
        first = mlflow_server.read_record(tracking_state)
        assert first is not None and mlflow_server.is_running(first), "it stopped with make up"
        assert up.main(["--stack", "local"]) == 0, capsys.readouterr().err
        again = mlflow_server.read_record(tracking_state)
    finally:
        server = mlflow_server.stop_recorded(tracking_state)

    printed = re.findall(r"^Tracking UI: (http://127\.0\.0\.1:\d+)", capsys.readouterr().out, re.M)
    assert server is not None and printed == [server.url, server.url], printed
    assert first == again == server, "a second `make up` started another tracking server"
    assert server.bucket == bucket, "the artifacts do not go to the stack's model bucket"
    loop = ("app data upload", "app train", "app serve", "infra_tools verify")
    # The second model (its own name), beside the first.
    second = ("app data upload", "app train", "app serve")
    # After the first model is promoted: a second dataset object, then the retraining its
    # notification starts, read from the stack's own queue.
    new_data = ("app data upload", "app data watch")
    expected = [
        f"{command} tracking={server.url} model={name}"
        for command, name in (
            *((c, "") for c in loop),
            *((c, "wine-classifier") for c in second),
            *((c, "") for c in new_data),
        )
    ] * 2
    assert calls.read_text().splitlines() == expected
    watch = (tmp_path / "watch.txt").read_text().split()
    assert watch[watch.index("--queue-url") + 1] == QUEUE_URL, watch
    assert "--once" in watch, "make up would wait for new data forever"
    key_length, sqs_endpoint = (tmp_path / "serve.txt").read_text().split()
    assert int(key_length) >= 32, "the model server refuses a prediction-id key this short"
    assert sqs_endpoint == embedded_aws.endpoint_url
