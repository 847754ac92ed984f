"""The GitHub Actions workflows: valid against the published schema and holding the
properties deployments rely on (OIDC, one deployment per stack, pinned actions)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the `on:` key as the boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def _all() -> dict[str, dict[str, Any]]:
    return {path.name: _load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_workflows_match_the_github_workflow_schema() -> None:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool, "check-jsonschema is missing; run `make venv` (it is a dev dependency)"
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    assert files, f"no workflows in {WORKFLOWS}"
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_third_party_action_is_pinned_to_a_commit_with_its_version() -> None:
    for name in sorted(WORKFLOWS.glob("*.yml")):
        for number, line in enumerate(name.read_text().splitlines(), start=1):
            match = re.match(r"^\s*-?\s*uses:\s*(\S+)(.*)$", line)
            if not match or match.group(1).startswith("./"):
                continue
            where = f"{name.name}:{number}"
            assert SHA_PIN.match(match.group(1)), (
                f"{where}: {match.group(1)} is not pinned to a SHA"
            )
            assert re.search(r"#\s*v\d", match.group(2)), f"{where}: add the version as `# vX.Y.Z`"


def test_deploy_job_uses_oidc_a_role_per_environment_and_no_stored_keys() -> None:
    deploy = _load("deploy.yml")
    job = deploy["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    assert job["environment"] == "${{ inputs.stack }}"
    credentials = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert [s["with"]["role-to-assume"] for s in credentials] == ["${{ vars.AWS_ROLE_ARN }}"]
    for name, workflow in _all().items():
        text = (WORKFLOWS / name).read_text()
        assert "AWS_SECRET_ACCESS_KEY" not in text and "aws-access-key-id" not in text, name
        assert not any("aws-access-key-id" in s.get("with", {}) for s in _steps(workflow)), name


def test_the_state_backend_comes_from_a_variable() -> None:
    job = _load("deploy.yml")["jobs"]["deploy"]
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_two_deployments_of_one_stack_never_overlap() -> None:
    job = _load("deploy.yml")["jobs"]["deploy"]
    assert job["concurrency"]["group"] == "pulumi-stack-${{ inputs.stack }}"
    # Cancelling would kill a `pulumi up` half way and leave the state locked.
    assert job["concurrency"]["cancel-in-progress"] is False


def test_main_deploys_dev_and_prod_deploys_prod_only_from_main_or_a_release_tag() -> None:
    main, prod = _load("main.yml"), _load("prod.yml")
    assert main["on"]["push"]["branches"] == ["main"]
    assert main["jobs"]["deploy-dev"]["with"]["stack"] == "dev"
    job = prod["jobs"]["deploy-prod"]
    assert job["with"]["stack"] == "prod"
    assert job["uses"] == "./.github/workflows/deploy.yml"
    assert "refs/heads/main" in job["if"] and "refs/tags/v" in job["if"]
    assert set(prod["on"]) == {"workflow_dispatch", "push"}
    assert list(prod["on"]["push"]) == ["tags"]


def test_deploy_sets_the_commit_sha_verifies_and_rolls_back() -> None:
    steps = _load("deploy.yml")["jobs"]["deploy"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert 'app.imageTag" "$IMAGE_TAG"' in runs
    assert _load("deploy.yml")["jobs"]["deploy"]["env"]["IMAGE_TAG"] == "${{ github.sha }}"
    assert 'python -m infra_tools verify --stack "$STACK" --state build-state.json' in runs
    rollback = [step for step in steps if "roll back" in step.get("name", "")]
    assert len(rollback) == 1 and rollback[0]["if"].startswith("failure()")
    # Rolls back only what this run deployed: after `pulumi up` or its verification failed.
    ids = {step.get("id") for step in steps}
    assert {"up", "verify"} <= ids
    assert "steps.up.outcome == 'failure'" in rollback[0]["if"]
    assert "steps.verify.outcome == 'failure'" in rollback[0]["if"]
    script = rollback[0]["run"]
    assert '"$PREVIOUS"' in script and "pulumi up" in script
    # The verification after the rollback reads the state exported after it, not a stale one.
    assert script.index("pulumi up") < script.index("pulumi stack export")
    assert script.index("pulumi stack export") < script.index("infra_tools verify")
    assert "--state build-state.json" in script
    pushed = {
        s["with"]["target"]: s["with"] for s in steps if "build-push-action" in s.get("uses", "")
    }
    assert sorted(pushed) == ["serve", "tracking", "train"]
    assert all(w["push"] is True for w in pushed.values())
    # The tags the stack derives from app.imageTag: `<sha>` serves, `<sha>-train` trains,
    # `<sha>-tracking` runs the tracking server (StackConfig.tracking_image_tag).
    assert pushed["serve"]["tags"].endswith(":${{ github.sha }}")
    assert pushed["train"]["tags"].endswith(":${{ github.sha }}-train")
    assert pushed["tracking"]["tags"].endswith(":${{ github.sha }}-tracking")
    assert pushed["tracking"]["file"] == "images/tracking/Dockerfile"
    # Each image is pushed only when its tag is not in the repository yet (tags are immutable).
    for target, build in pushed.items():
        step = next(s for s in steps if s.get("with") is build)
        assert step["if"] == f"steps.stack.outputs.{target}-exists != 'true'", target
    assert "for image in serve train tracking" in runs


def test_pull_requests_run_make_test_build_images_without_pushing_and_comment_the_diff() -> None:
    jobs = _load("pull-request.yml")["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    builds = [
        s["with"] for s in jobs["images"]["steps"] if "build-push-action" in s.get("uses", "")
    ]
    assert builds and all(build["push"] is False for build in builds)
    diff = "\n".join(step.get("run", "") for step in jobs["synth-diff"]["steps"])
    assert "python -m infra_tools diff" in diff and "gh pr comment" in diff
    assert "vars.AWS_PREVIEW_ROLE_ARN != ''" in jobs["preview-dev"]["if"]
    assert jobs["preview-dev"]["permissions"]["id-token"] == "write"


def test_localstack_workflow_pins_a_tokenless_localstack_and_destroys_what_it_made() -> None:
    job = _load("localstack.yml")["jobs"]["local-stack"]
    image = job["services"]["localstack"]["image"]
    match = re.fullmatch(r"localstack/localstack:(\d+)\.(\d+)(\.\d+)?", image)
    assert match, f"{image}: pin an exact LocalStack version"
    assert (int(match.group(1)), int(match.group(2))) <= (4, 14), f"{image}: newer needs a token"
    runs = [step.get("run", "") for step in job["steps"]]
    assert any("pulumi up --stack local" in run for run in runs)
    assert any("python -m infra_tools verify --stack local --state" in run for run in runs)
    destroy = [s for s in job["steps"] if "pulumi destroy" in s.get("run", "")]
    assert destroy and destroy[0]["if"] == "always()"


@pytest.mark.parametrize("name", ["deploy.yml", "pull-request.yml", "localstack.yml"])
def test_workflows_never_keep_the_checkout_token(name: str) -> None:
    for step in _steps(_load(name)):
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False, name


def _makefile_tool_bin() -> str:
    """The folder holding only the Makefile's pinned uv (`$(UV_PATH)`), relative to the root."""
    variables: dict[str, str] = {}
    makefile = WORKFLOWS.parents[1] / "Makefile"
    for line in makefile.read_text().splitlines():
        match = re.match(r"^([A-Z_]+)\s*:=\s*(.*)$", line)
        if match:
            variables[match.group(1)] = re.sub(
                r"\$\((\w+)\)",
                lambda m: variables.get(m.group(1), m.group(0)),
                match.group(2).strip(),
            )
    return variables["UV_PATH"]


@pytest.mark.parametrize("name", ["deploy.yml", "pull-request.yml", "localstack.yml"])
def test_every_job_running_pulumi_has_the_projects_uv_on_path(name: str) -> None:
    """Pulumi.yaml's `toolchain: uv` makes the language host run `uv` from PATH; the job puts
    the Makefile's own uv there (GITHUB_PATH) before the first `pulumi` command."""
    project = yaml.safe_load((WORKFLOWS.parents[1] / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["toolchain"] == "uv"
    wanted = f'echo "$PWD/{_makefile_tool_bin()}" >> "$GITHUB_PATH"'
    jobs = [job for job in _load(name)["jobs"].values() if "pulumi " in yaml.safe_dump(job)]
    assert jobs, f"{name}: no job runs pulumi"
    for job in jobs:
        runs = [step.get("run", "") for step in job["steps"]]
        first_pulumi = next(i for i, run in enumerate(runs) if "pulumi " in run)
        assert any(wanted in run for run in runs[:first_pulumi]), (
            f"{name}: no step before `{runs[first_pulumi].strip()}` runs `{wanted}`"
        )


def test_images_record_the_commit_they_were_built_from() -> None:
    """Every build-arg a workflow passes is one the Dockerfile declares (an undeclared one is
    silently ignored), and the commit SHA reaches the setting the app records as code_version."""
    from app.settings import Settings

    dockerfile = (WORKFLOWS.parents[1] / "app" / "Dockerfile").read_text()
    declared = set(re.findall(r"^ARG\s+(\w+)", dockerfile, flags=re.MULTILINE))
    env_name = f"{Settings.model_config.get('env_prefix', '')}code_version".upper()
    sha_args: set[str] = set()
    for name, workflow in _all().items():
        for step in _steps(workflow):
            if "build-push-action" not in step.get("uses", ""):
                continue
            for line in str(step["with"].get("build-args", "")).splitlines():
                arg, _, value = line.partition("=")
                assert arg in declared, f"{name}: build-arg {arg} is not an ARG of the Dockerfile"
                if "github.sha" in value:
                    sha_args.add(arg)
    assert sha_args, "no workflow passes the commit SHA to the image build"
    for arg in sha_args:
        assert re.search(rf"^ENV\s+{env_name}=\$\{{{arg}\}}", dockerfile, flags=re.MULTILINE), (
            f"the Dockerfile does not set {env_name} from ARG {arg}"
        )


def test_ci_runs_the_pulumi_cli_version_make_up_installs() -> None:
    from devtools.pulumi_cli import PULUMI_VERSION

    steps = [
        step
        for workflow in _all().values()
        for step in _steps(workflow)
        if step.get("uses", "").startswith("pulumi/actions@")
    ]
    assert steps
    for step in steps:
        assert step["with"]["pulumi-version"] == PULUMI_VERSION, step


def test_the_deploy_runner_comes_from_a_repository_variable_per_stack() -> None:
    """`runs-on` cannot read the job's own environment's variables: the callers pass the
    labels from a repository variable, one per stack, GitHub-hosted when it is unset."""
    deploy = _load("deploy.yml")
    assert deploy["jobs"]["deploy"]["runs-on"] == "${{ fromJSON(inputs.runner) }}"
    assert deploy["on"]["workflow_call"]["inputs"]["runner"]["required"] is True
    for name, stack in (("main.yml", "dev"), ("prod.yml", "prod")):
        (job,) = _load(name)["jobs"].values()
        runner = job["with"]["runner"]
        assert f"vars.DEPLOY_RUNNER_LABELS_{stack.upper()}" in runner, runner
        assert "'\"ubuntu-24.04\"'" in runner, "a JSON string fallback for fromJSON"
