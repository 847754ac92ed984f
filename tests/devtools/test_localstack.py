"""The embedded AWS the tests and `make up` run against."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import localstack
from tests.conftest import EmbeddedAws


@pytest.mark.localstack
def test_embedded_aws_answers_sts_and_s3(embedded_aws: EmbeddedAws) -> None:
    identity = embedded_aws.client("sts").get_caller_identity()
    assert identity["Account"].isdigit()
    s3 = embedded_aws.client("s3")
    s3.create_bucket(Bucket="fixture-smoke")
    s3.put_object(Bucket="fixture-smoke", Key="k", Body=b"v")
    assert s3.get_object(Bucket="fixture-smoke", Key="k")["Body"].read() == b"v"


@pytest.mark.localstack
def test_embedded_aws_supports_conditional_writes(embedded_aws: EmbeddedAws) -> None:
    s3 = embedded_aws.client("s3")
    s3.create_bucket(Bucket="fixture-conditional")
    s3.put_object(Bucket="fixture-conditional", Key="v1", Body=b"a", IfNoneMatch="*")
    with pytest.raises(s3.exceptions.ClientError) as raised:
        s3.put_object(Bucket="fixture-conditional", Key="v1", Body=b"b", IfNoneMatch="*")
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"


def test_missing_install_names_the_command_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(localstack, "VENV_PYTHON", tmp_path / "absent" / "python")
    with pytest.raises(localstack.LocalStackError, match=r"make localstack-venv"):
        localstack.start(port=1)
