"""`make up`'s second model: seeded, trained (gradient-boosted trees on Wine), promoted and
served beside the first, on the embedded S3 and tracking server (the steps after `pulumi up`,
which needs the Pulumi CLI)."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from devtools import up
from tests.integration.conftest import API_KEY
from tests.ports import free_port

pytestmark = [pytest.mark.localstack, pytest.mark.slow]


def test_the_second_model_is_trained_promoted_and_answers_by_feature_name(
    bucket: str, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    del bucket  # its fixture put the bucket's settings in the environment
    # A model name of this test's own: the session's tracking server outlives the test.
    name = f"wine-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(up.SECOND_MODEL_ENV, "MLOPS_MODEL_NAME", name)
    monkeypatch.setattr(up, "APP_PORT", free_port() - 1)
    env = {**os.environ, "MLOPS_TRACKING_URI": tracking_server, "MLOPS_UP_API_KEY": API_KEY}
    answer = up.serve_second_model(sys.executable, env)
    assert answer["model_name"] == name and answer["model_version"] == "1"
    predictions = answer["predictions"]
    assert isinstance(predictions, list)
    assert predictions[0]["predicted_class"] == "cultivar_1"
