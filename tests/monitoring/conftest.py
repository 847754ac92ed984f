"""Monitoring tests: the synthesized stacks (shared with tests/infra) and the Prometheus tools."""

from __future__ import annotations

import shutil

import pytest

from tests.infra.conftest import dev, graphs, local, prod

__all__ = ["dev", "graphs", "local", "prod"]

INSTALL_HINT = (
    "run `make promtool` (installs Debian's `prometheus` package with apt), or install "
    "promtool and prometheus from https://prometheus.io/download/ onto PATH"
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; {INSTALL_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _tool("prometheus")
