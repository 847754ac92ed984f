"""`python -m infra_tools verify` against the embedded AWS, with the local stack's declared graph,
finding what was deployed by the stack's tags and outputs (no state given; see
test_verify_state.py for the state).

Each test deploys its own copy, told apart by an extra `verify-run` tag, so tests sharing one
LocalStack never see each other's resources.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from infra_tools.cli import main
from infra_tools.graph import ResourceGraph
from infra_tools.type_tokens import EC2_NAT_GATEWAY, EC2_SUBNET, EC2_VPC, KMS_KEY, S3_BUCKET
from infra_tools.verify import Target, verify_declared
from tests.conftest import EmbeddedAws
from tests.infra_tools.verify.deploy import deploy, isolated_target

VERIFIED = (S3_BUCKET, KMS_KEY, EC2_VPC, EC2_SUBNET, EC2_NAT_GATEWAY)


def _deployed(local: ResourceGraph, aws: EmbeddedAws) -> tuple[Target, dict[str, Any]]:
    target = isolated_target(local, aws)
    return target, deploy(local, aws, target.tags).outputs


def test_local_stack_declares_what_verify_checks(local: ResourceGraph) -> None:
    # Guards the tests below against passing vacuously on an empty graph.
    for token in VERIFIED:
        assert local.of_type(token), f"stack local declares no {token}; verify has nothing to check"


@pytest.mark.localstack
def test_a_stack_deployed_as_declared_verifies_clean(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, _ = _deployed(local, embedded_aws)
    assert [m.line() for m in verify_declared(local, target)] == []


@pytest.mark.localstack
def test_suspended_versioning_is_reported(local: ResourceGraph, embedded_aws: EmbeddedAws) -> None:
    target, outputs = _deployed(local, embedded_aws)
    embedded_aws.client("s3").put_bucket_versioning(
        Bucket=outputs["modelBucketName"], VersioningConfiguration={"Status": "Suspended"}
    )
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    assert [m.line() for m in verify_declared(local, target)] == [
        f"bucket {bucket} versioning: declared Enabled, actual Suspended"
    ]


@pytest.mark.localstack
def test_a_removed_public_access_block_flag_is_reported(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, outputs = _deployed(local, embedded_aws)
    s3 = embedded_aws.client("s3")
    s3.put_public_access_block(
        Bucket=outputs["modelBucketName"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    bucket = local.of_type(S3_BUCKET)[0]["name"]
    assert [m.line() for m in verify_declared(local, target)] == [
        f"bucket {bucket} public access blockPublicPolicy: declared True, actual False"
    ]


@pytest.mark.localstack
def test_a_deleted_tls_policy_and_disabled_rotation_are_reported(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target, outputs = _deployed(local, embedded_aws)
    embedded_aws.client("s3").delete_bucket_policy(Bucket=outputs["modelBucketName"])
    kms = embedded_aws.client("kms")
    encryption = embedded_aws.client("s3").get_bucket_encryption(Bucket=outputs["modelBucketName"])
    key_id = encryption["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"
    ]["KMSMasterKeyID"]
    kms.disable_key_rotation(KeyId=key_id)
    lines = [m.line() for m in verify_declared(local, target)]
    bucket, key = local.of_type(S3_BUCKET)[0]["name"], local.of_type(KMS_KEY)[0]["name"]
    assert lines == [
        f"bucket {bucket} policy: declared deny requests without TLS, actual no bucket policy",
        f"kms key {key} rotation: declared True, actual False",
    ]


@pytest.mark.localstack
def test_a_never_deployed_stack_reports_one_line_per_missing_resource(
    local: ResourceGraph, embedded_aws: EmbeddedAws
) -> None:
    target = isolated_target(local, embedded_aws)
    lines = [m.line() for m in verify_declared(local, target)]
    expected = [resource["name"] for resource in local.of_type(*VERIFIED)]
    assert sorted(line.split(" exists:")[0].split(" ", 2)[-1] for line in lines) == sorted(
        expected
    ), lines
    assert all("declared yes, actual missing" in line for line in lines), lines


@pytest.mark.localstack
def test_cli_exits_0_for_a_deployment_named_by_its_outputs(
    local: ResourceGraph,
    embedded_aws: EmbeddedAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, outputs = _deployed(local, embedded_aws)
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    argv = ["verify", "--stack", "local", "--endpoint-url", embedded_aws.endpoint_url]
    code = main([*argv, "--outputs", str(outputs_file)])
    assert code == 0, capsys.readouterr()


@pytest.mark.localstack
def test_cli_exits_1_with_the_mismatch_line(
    local: ResourceGraph,
    embedded_aws: EmbeddedAws,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, outputs = _deployed(local, embedded_aws)
    embedded_aws.client("s3").put_bucket_versioning(
        Bucket=outputs["modelBucketName"], VersioningConfiguration={"Status": "Suspended"}
    )
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    argv = ["verify", "--stack", "local", "--endpoint-url", embedded_aws.endpoint_url]
    code = main([*argv, "--outputs", str(outputs_file)])
    out = capsys.readouterr().out
    assert code == 1
    assert "versioning: declared Enabled, actual Suspended" in out, out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_endpoint_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(["verify", "--stack", "local", "--endpoint-url", url])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"error: cannot reach {url}"), err


def test_missing_credentials_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(["verify", "--stack", "dev"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: no AWS credentials for stack dev"), err


@pytest.mark.parametrize(
    ("content", "rule"),
    [("not json", "is not JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_a_bad_outputs_file_names_the_file_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, rule: str
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(content)
    code = main(["verify", "--stack", "local", "--outputs", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--outputs {path}: {rule}" in err and "pulumi stack output --json" in err, err


def test_app_url_without_an_api_key_variable_is_rejected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["verify", "--stack", "local", "--app-url", "http://127.0.0.1:1"])
    assert code == 2
    assert "--app-url needs --api-key-env" in capsys.readouterr().err
