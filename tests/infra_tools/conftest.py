"""Each real stack is synthesized once per session, as graphs and written to disk like
`python -m infra_tools synth` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_tools.synth import Synthesis, synthesize, write_synthesis
from tests.infra.conftest import dev, graphs, local, prod

__all__ = ["dev", "graphs", "local", "prod"]

STACKS = ("dev", "prod", "local")


@pytest.fixture(scope="session")
def syntheses() -> dict[str, Synthesis]:
    return {stack: synthesize(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def synth_dirs(
    syntheses: dict[str, Synthesis], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    for stack, synthesis in syntheses.items():
        write_synthesis(synthesis, root / stack)
    return {stack: root / stack for stack in STACKS}
