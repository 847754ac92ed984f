"""Runs the real Pulumi program under the SDK's mock runtime and collects the resource graph."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.stack import wait_for_rpcs

from infra.config import PROJECT
from infra_tools.graph import ResourceGraph
from infra_tools.synth.fakes import FAKE_REGION, FakeCloud
from infra_tools.synth.recorder import SECRET, RecordingMonitor, plain
from infra_tools.synth.stackfile import PROJECT_ROOT, read_stack_file


@dataclass(frozen=True)
class Synthesis:
    """The full declared graph of one stack."""

    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    notices: list[str]

    @cached_property
    def graph(self) -> ResourceGraph:
        """The synthesized resources and outputs, to query."""
        return ResourceGraph(self.resources, self.outputs, self.stack)


def _run_program(stack: str, root: Path) -> Synthesis:
    # Imported here so that importing the synth package declares nothing.
    from infra.platform import declare_platform

    stack_file = read_stack_file(stack, root)
    pulumi.runtime.set_all_config(stack_file.config, stack_file.secret_keys)
    region = stack_file.config.get("aws:region", FAKE_REGION)
    monitor = RecordingMonitor(FakeCloud(region))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
        )
        try:
            declare_platform()
        finally:
            # Even when the program stops early (bad config), let the registrations it
            # started finish, so that nothing of this run is left pending for the next.
            loop.run_until_complete(wait_for_rpcs())
        outputs = loop.run_until_complete(_resolve_exports())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return Synthesis(stack, monitor.registrations, outputs, stack_file.notices)


async def _resolve_exports() -> dict[str, Any]:
    """The stack's exports as `pulumi stack output --json` shows them: secrets masked."""
    root = pulumi.runtime.get_root_resource()
    exports: dict[str, Any] = getattr(root, "outputs", {})
    resolved: dict[str, Any] = {}
    for name, value in exports.items():
        output = pulumi.Output.from_input(value)
        is_secret = await output.is_secret()
        resolved[name] = SECRET if is_secret else plain(await output.future())
    return resolved


def synthesize(stack: str, root: Path = PROJECT_ROOT) -> Synthesis:
    """Synthesize `stack` from `Pulumi.<stack>.yaml`; raises ConfigError for bad config.

    Each call runs in an empty context so that the SDK's per-run state (settings, config,
    root stack) of one synthesis never leaks into the next.
    """
    return contextvars.Context().run(_run_program, stack, root)
