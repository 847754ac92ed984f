"""`python -m infra_tools verify --state`: the stack's own state (`pulumi stack export`) names
each declared resource by URN, so verify checks exactly what was deployed and searches for
nothing, against the embedded AWS."""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
from pathlib import Path
from typing import Any

import pytest

from infra_tools.cli import main
from infra_tools.graph import ResourceGraph
from infra_tools.state import state_graph
from infra_tools.type_tokens import EC2_NAT_GATEWAY, EC2_SUBNET, EC2_VPC, KMS_KEY, S3_BUCKET
from infra_tools.verify import Target, target_for, verify_declared
from tests.conftest import EmbeddedAws
from tests.infra_tools.verify.deploy import Deployment, deploy, isolated_target

VERIFIED = (S3_BUCKET, KMS_KEY, EC2_VPC, EC2_SUBNET, EC2_NAT_GATEWAY)


def _lines(local: ResourceGraph, target: Target, export: dict[str, Any]) -> list[str]:
    with_state = dataclasses.replace(target, state=state_graph(export, "local"))
    return [m.line() for m in verify_declared(local, with_state)]


def _deployed(
    local: ResourceGraph, aws: EmbeddedAws, **names: str
) -> tuple[Target, Deployment, str]:
    """A fresh deployment, and the physical name of the stack's (first) bucket."""
    target = isolated_target(local, aws)
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    deployment = deploy(local, aws, target.tags, bucket_names=names)
    return target, deployment, deployment.outputs[f"bucket:{bucket}"]


@pytest.mark.localstack
def test_cli_exits_0_for_a_deployment_named_by_its_state(
    local: ResourceGraph,
    embedded_aws: EmbeddedAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, deployment, _ = _deployed(local, embedded_aws)
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(deployment.export()))
    argv = ["verify", "--stack", "local", "--endpoint-url", embedded_aws.endpoint_url]
    code = main([*argv, "--state", str(state_file)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "everything declared is deployed as declared" in out


@pytest.mark.localstack
def test_the_state_finds_a_bucket_whose_name_no_auto_name_pattern_matches(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    target, deployment, name = _deployed(
        local, embedded_aws, **{bucket: f"imported-{secrets.token_hex(4)}"}
    )
    assert _lines(local, target, deployment.export()) == []
    # Without the state, verify can only guess from the auto-name pattern, and misses it.
    guessed = [m.line() for m in verify_declared(local, target)]
    assert [line for line in guessed if line.startswith(f"bucket {bucket} exists")], guessed
    assert name not in " ".join(guessed)


@pytest.mark.localstack
def test_the_state_picks_its_own_deployment_among_two_with_the_same_tags(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, first, _ = _deployed(local, embedded_aws)
    deploy(local, embedded_aws, target.tags)
    assert _lines(local, target, first.export()) == []
    guessed = [m.line() for m in verify_declared(local, target)]
    assert any("pass --state to pick the deployed one" in line for line in guessed), guessed


@pytest.mark.localstack
def test_a_bucket_encrypted_with_another_key_than_the_states_is_reported(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, deployment, name = _deployed(local, embedded_aws)
    other = embedded_aws.client("kms").create_key(Description="not the stack's")["KeyMetadata"]
    embedded_aws.client("s3").put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": other["Arn"],
                    }
                }
            ]
        },
    )
    (key,) = [r for r in deployment.resources if r["type"] == KMS_KEY]
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    assert _lines(local, target, deployment.export()) == [
        f"bucket {bucket} encryption key: declared {key['outputs']['arn']}, actual {other['Arn']}"
    ]


@pytest.mark.localstack
def test_a_resource_the_state_lacks_is_missing_even_when_a_search_would_find_it(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, deployment, _ = _deployed(local, embedded_aws)
    deployment.resources = [r for r in deployment.resources if r["type"] != S3_BUCKET]
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    assert _lines(local, target, deployment.export()) == [
        f"bucket {bucket} exists: declared yes, actual missing (not in the stack's state)"
    ]


@pytest.mark.localstack
def test_a_bucket_the_state_names_but_aws_lacks_is_reported_missing(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, deployment, name = _deployed(local, embedded_aws)
    embedded_aws.client("s3").delete_bucket(Bucket=name)
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    assert _lines(local, target, deployment.export()) == [
        f"bucket {bucket} exists: declared yes, actual missing (no bucket {name})"
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_never_deployed_state_reports_every_resource_missing_without_asking_aws(
    local: ResourceGraph,
) -> None:
    # Nothing answers at this endpoint: any AWS call would end the run with an error.
    target = target_for(local, f"http://127.0.0.1:{_closed_port()}")
    empty = {"version": 3, "deployment": {"manifest": {}}}
    lines = _lines(local, target, empty)
    expected = [resource["name"] for resource in local.of_type(*VERIFIED)]
    assert sorted(line.split(" exists:")[0].split(" ", 2)[-1] for line in lines) == sorted(
        expected
    ), lines
    assert all("declared yes, actual missing" in line for line in lines), lines


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (None, "cannot be read"),
        ("not json", "is not JSON"),
        ('{"version": 3}', "has no 'deployment' object"),
    ],
)
def test_a_bad_state_file_names_the_file_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, rule: str
) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    code = main(["verify", "--stack", "local", "--state", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--state {path}: {rule}" in err and "pulumi stack export" in err, err


def test_state_and_outputs_are_one_choice(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["verify", "--stack", "local", "--state", "s.json", "--outputs", "o.json"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
