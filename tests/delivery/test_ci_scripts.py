"""The deploy job's shell steps, run for real against stand-ins for aws, pulumi, kubectl and curl
(tests/delivery/fakes/): the first deploy of an empty stack, a re-run, and the checks that
stop a deploy early with a readable error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.contracts import TRAINING_NAMESPACE, retrain_cronjob
from infra_tools.synth.stackfile import PROJECT_ROOT

# Slow: the deploy job's shell steps, each a bash process; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

SCRIPTS = PROJECT_ROOT / ".github" / "scripts"
FAKES = Path(__file__).resolve().parent / "fakes"
REPOSITORY_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-dev/app"


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "calls.log"
        self.log.touch()
        self.state = tmp_path / "state"
        self.github_output = tmp_path / "github-output"
        self.github_output.touch()
        self.env = {
            **os.environ,
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE_LOG": str(self.log),
            "FAKE_STATE": str(self.state),
            "GITHUB_OUTPUT": str(self.github_output),
            "STACK": "dev",
            "IMAGE_TAG": "0123456789abcdef0123456789abcdef01234567",
            "PYTHON": str(FAKES / "python"),
        }

    def run(self, script: str, *args: str, **fake: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script, "step", *args],
            cwd=PROJECT_ROOT,
            env={**self.env, **fake},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def script(self, name: str, *args: str, **fake: str) -> subprocess.CompletedProcess[str]:
        return self.run(f'"{SCRIPTS / name}" "$@"', *args, **fake)

    def calls(self, program: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith(program)]

    def outputs(self) -> dict[str, str]:
        lines = self.github_output.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def _deploy_step(name_start: str) -> dict[str, Any]:
    text = (PROJECT_ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    steps = yaml.safe_load(text)["jobs"]["deploy"]["steps"]
    (step,) = [s for s in steps if s.get("name", "").startswith(name_start)]
    return step


@pytest.mark.parametrize(("answer", "printed"), [("exists", "true"), ("missing", "false")])
def test_image_exists_tells_a_pushed_tag_from_a_missing_one(
    runner: Runner, answer: str, printed: str
) -> None:
    result = runner.script("image-exists.sh", REPOSITORY_URL, "abc", FAKE_IMAGE=answer)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed
    (call,) = runner.calls("aws")
    assert "--repository-name mlops-dev/app --image-ids imageTag=abc" in call


def test_image_exists_fails_instead_of_guessing_when_ecr_refuses(runner: Runner) -> None:
    result = runner.script("image-exists.sh", REPOSITORY_URL, "abc", FAKE_IMAGE="denied")
    assert result.returncode != 0
    assert "cannot tell whether mlops-dev/app:abc exists" in result.stderr
    assert "AccessDeniedException" in result.stderr


def test_first_deploy_creates_the_repository_before_any_push(runner: Runner) -> None:
    step = _deploy_step("read the stack's repository")
    result = runner.run(step["run"], FAKE_IMAGE="missing")
    assert result.returncode == 0, result.stderr
    (up,) = [call for call in runner.calls("pulumi") if call.startswith("pulumi up")]
    # Only flags `pulumi up` has: the targets name the whole closure themselves.
    assert "--target-dependencies" not in up
    assert "--target=urn:pulumi:dev::mlops-platform::" in up
    assert "$aws:ecr/repository:Repository::mlops-dev-app" in up
    assert "--target=urn:pulumi:dev::mlops-platform::pulumi:providers:aws::aws" in up
    outputs = runner.outputs()
    assert outputs["repository"] == REPOSITORY_URL
    assert (outputs["serve-exists"], outputs["train-exists"], outputs["tracking-exists"]) == (
        "false",
        "false",
        "false",
    )


def test_a_rerun_of_the_same_commit_skips_the_bootstrap_and_the_push(runner: Runner) -> None:
    runner.state.touch()  # the stack was deployed before
    step = _deploy_step("read the stack's repository")
    result = runner.run(step["run"], FAKE_IMAGE="exists")
    assert result.returncode == 0, result.stderr
    assert not [call for call in runner.calls("pulumi") if call.startswith("pulumi up")]
    outputs = runner.outputs()
    assert (outputs["serve-exists"], outputs["train-exists"], outputs["tracking-exists"]) == (
        "true",
        "true",
        "true",
    )
    steps = yaml.safe_load((PROJECT_ROOT / ".github/workflows/deploy.yml").read_text())["jobs"][
        "deploy"
    ]["steps"]
    pushes = {s["with"]["target"]: s["if"] for s in steps if "build-push" in s.get("uses", "")}
    assert pushes == {
        "serve": "steps.stack.outputs.serve-exists != 'true'",
        "train": "steps.stack.outputs.train-exists != 'true'",
        "tracking": "steps.stack.outputs.tracking-exists != 'true'",
    }


def test_a_deployed_cluster_is_checked_before_pulumi_touches_it(runner: Runner) -> None:
    runner.state.touch()
    step = _deploy_step("read the stack's repository")
    result = runner.run(step["run"], FAKE_CLUSTER="mlops-dev", FAKE_API_REACHABLE="no")
    assert result.returncode != 0
    assert "cannot reach the EKS API of mlops-dev" in result.stderr
    assert "DEPLOY_RUNNER_LABELS" in result.stderr


def test_prod_on_a_github_hosted_runner_stops_before_deploying_anything(runner: Runner) -> None:
    """Prod's API endpoint is private: a runner outside the VPC would fail half-way through
    the first `pulumi up`, so the job stops first and names the variable to set."""
    step = _deploy_step("read the stack's repository")
    result = runner.run(step["run"], STACK="prod", RUNNER_ENVIRONMENT="github-hosted")
    assert result.returncode != 0
    assert "EKS API endpoint is private" in result.stderr
    assert "DEPLOY_RUNNER_LABELS" in result.stderr
    assert not runner.calls("pulumi"), "nothing may be deployed from this runner"


def test_prod_on_a_self_hosted_runner_stops_only_for_the_example_certificate(
    runner: Runner,
) -> None:
    """The committed prod stack file holds the example certificate ARN: the job refuses it
    before deploying, and nothing else stops a self-hosted runner."""
    step = _deploy_step("read the stack's repository")
    result = runner.run(step["run"], STACK="prod", RUNNER_ENVIRONMENT="self-hosted")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1 and "certificateArn" in errors[0] and "example ARN" in errors[0]
    assert not runner.calls("pulumi"), "nothing may be deployed with the example certificate"


def test_preflight_names_the_role_missing_an_access_entry(runner: Runner) -> None:
    result = runner.script(
        "cluster-preflight.sh", "mlops-dev", "https://x.eks", FAKE_ACCESS_ENTRY="other"
    )
    assert result.returncode != 0
    # The role, not the session: that is what cluster.adminRoleArns must list.
    assert "the role github-deploy" in result.stderr and "has no access entry" in result.stderr
    assert "cluster.adminRoleArns" in result.stderr


@pytest.mark.parametrize("entries", ["yes", "with-path"])
def test_preflight_passes_a_reachable_cluster_with_an_access_entry(
    runner: Runner, entries: str
) -> None:
    """The assumed-role ARN carries no role path; an entry for a role under a path counts."""
    result = runner.script(
        "cluster-preflight.sh", "mlops-dev", "https://x.eks", FAKE_ACCESS_ENTRY=entries
    )
    assert result.returncode == 0, result.stderr
    assert "role github-deploy may deploy" in result.stdout


def test_preflight_reports_a_refused_lookup_as_it_is(runner: Runner) -> None:
    result = runner.script(
        "cluster-preflight.sh", "mlops-dev", "https://x.eks", FAKE_ACCESS_ENTRY="denied"
    )
    assert result.returncode != 0
    assert "AccessDeniedException" in result.stderr
    assert "has no access entry" not in result.stderr


def test_first_model_seeds_data_and_starts_one_training_job(runner: Runner) -> None:
    result = runner.script(
        "first-model.sh", "bucket", "wine-classifier", "production", "datasets/wine/", "wine"
    )
    assert result.returncode == 0, result.stderr
    (upload,) = runner.calls("python")
    assert "-m app data upload" in upload
    # The model's own example data, under its own prefix.
    assert "MLOPS_MODEL_NAME=wine-classifier MLOPS_DATASET_PREFIX=datasets/wine/" in upload
    assert "MLOPS_PACKAGED_DATASET=wine" in upload
    (job,) = [c for c in runner.calls("kubectl") if "create job" in c]
    # The Job comes from the model's CronJob the workloads declare, in their namespace.
    cronjob = retrain_cronjob("wine-classifier")
    assert f"--from=cronjob/{cronjob} --namespace {TRAINING_NAMESPACE}" in job
    (active,) = [c for c in runner.calls("kubectl") if "get jobs" in c]
    assert "mlops-platform/model=wine-classifier" in active


def test_a_model_without_data_or_example_stops_the_deploy_naming_its_prefix(
    runner: Runner,
) -> None:
    result = runner.script("first-model.sh", "bucket", "churn", "production", "datasets/churn/", "")
    assert result.returncode == 1
    assert "no training data under s3://bucket/datasets/churn/" in result.stderr
    assert not runner.calls("python")
    assert not [c for c in runner.calls("kubectl") if "create job" in c]


def test_the_deploy_step_starts_a_first_training_per_model(runner: Runner) -> None:
    step = _deploy_step("train the first model")
    runner.run("pulumi up", FAKE_CLUSTER="mlops-dev")  # the fake state: outputs exist
    result = runner.run(step["run"], FAKE_CLUSTER="mlops-dev", FAKE_DATASET="exists")
    assert result.returncode == 0, result.stderr
    jobs = [c for c in runner.calls("kubectl") if "create job" in c]
    assert [c.split("--from=")[1].split()[0] for c in jobs] == [
        f"cronjob/{retrain_cronjob('iris-classifier')}",
        f"cronjob/{retrain_cronjob('wine-classifier')}",
    ]


def test_first_model_never_starts_a_second_training_beside_a_running_one(
    runner: Runner,
) -> None:
    """A re-run, or the next push, while the first training still runs: a Job made by hand
    escapes the CronJob's concurrencyPolicy, so the script must not add one."""
    result = runner.script(
        "first-model.sh", "b", "m", "production", FAKE_ACTIVE_JOBS="first-model-7-1"
    )
    assert result.returncode == 0, result.stderr
    assert not [c for c in runner.calls("kubectl") if "create job" in c]
    assert "already running" in result.stdout


def test_first_model_tells_the_verification_a_first_training_runs(runner: Runner) -> None:
    assert runner.script("first-model.sh", "b", "m", "production").returncode == 0
    assert runner.outputs()["first-training"] == "true"


def test_a_promoted_model_tells_the_verification_nothing(runner: Runner) -> None:
    result = runner.script("first-model.sh", "b", "m", "production", FAKE_ALIAS="exists")
    assert result.returncode == 0 and "first-training" not in runner.outputs()


def test_first_model_names_the_job_after_the_run_attempt(runner: Runner) -> None:
    result = runner.script(
        "first-model.sh", "b", "m", "production", GITHUB_RUN_ID="7", GITHUB_RUN_ATTEMPT="2"
    )
    assert result.returncode == 0, result.stderr
    (create,) = [c for c in runner.calls("kubectl") if "create job" in c]
    assert "create job first-m-7-2 " in create


def test_first_model_keeps_an_uploaded_dataset(runner: Runner) -> None:
    result = runner.script("first-model.sh", "b", "m", "production", FAKE_DATASET="exists")
    assert result.returncode == 0, result.stderr
    assert not runner.calls("python")
    assert len([c for c in runner.calls("kubectl") if "create job" in c]) == 1


def test_first_model_seeds_an_empty_prefix_whatever_the_cli_warns_about(runner: Runner) -> None:
    result = runner.script(
        "first-model.sh", "b", "m", "production", FAKE_DATASET="missing-with-warning"
    )
    assert result.returncode == 0, result.stderr
    assert len(runner.calls("python")) == 1, "an empty prefix read as holding data"


def test_first_model_does_nothing_once_a_model_is_promoted(runner: Runner) -> None:
    result = runner.script("first-model.sh", "b", "m", "production", FAKE_ALIAS="exists")
    assert result.returncode == 0, result.stderr
    assert not runner.calls("kubectl") and not runner.calls("python")


def test_first_model_stops_on_a_forbidden_read_instead_of_retraining(runner: Runner) -> None:
    result = runner.script("first-model.sh", "b", "m", "production", FAKE_ALIAS="denied")
    assert result.returncode != 0
    assert "cannot read s3://b/models/m/aliases/production.json" in result.stderr
    assert not [c for c in runner.calls("kubectl") if "create job" in c]
