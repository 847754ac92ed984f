"""The tracking server's Dockerfile passes the same scanners as the app's."""

from __future__ import annotations

import pytest

from infra_tools.guardrails.scanners import ScannerMissingError, checkov, hadolint
from infra_tools.synth.stackfile import PROJECT_ROOT

# Slow: checkov and hadolint processes; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

DOCKERFILE = PROJECT_ROOT / "images" / "tracking" / "Dockerfile"


def test_tracking_dockerfile_passes_hadolint_and_checkov() -> None:
    try:
        assert hadolint(DOCKERFILE) == []
        assert checkov(DOCKERFILE.parent, "dockerfile") == []
    except ScannerMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
