"""Run the real program under Pulumi's mocks and keep what it declared, secrets in clear.

Synth masks secrets and stops at the first ConfigError; a few tests need either what a secret
holds (the Alertmanager config Alertmanager reads) or what was declared before an error (to
prove a bad stack file declares nothing). The stack file is read the way synth reads it;
`without` removes config keys from it (e.g. a secret synth would fill with a placeholder), and
`secrets` sets secret values of the test's own, so each can be told apart.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.stack import wait_for_rpcs

from infra.config import PROJECT, ConfigError
from infra_tools.synth.fakes import FAKE_REGION, FakeCloud
from infra_tools.synth.stackfile import PROJECT_ROOT, read_stack_file


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    """As the engine would receive them, secrets unwrapped."""


@dataclass
class Run:
    declared: list[Declared] = field(default_factory=list[Declared])
    error: ConfigError | None = None

    def one(self, type_token: str, name: str) -> Declared:
        (match,) = [d for d in self.declared if d.type == type_token and d.name == name]
        return match


def _clear(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _clear(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _clear(item) for key, item in cast(dict[str, Any], value).items()}
    if isinstance(value, list):
        return [_clear(item) for item in cast(list[Any], value)]
    return value


class _Recorder(FakeCloud):
    def __init__(self, region: str, run: Run) -> None:
        super().__init__(region)
        self.run = run

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = cast(dict[str, Any], _clear(dict(args.inputs)))  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
        self.run.declared.append(Declared(args.typ, args.name, inputs))
        return super().new_resource(args)


def _declare(stack: str, root: Path, without: tuple[str, ...], secrets: Mapping[str, str]) -> Run:
    from infra.platform import declare_platform

    stack_file = read_stack_file(stack, root)
    config = {key: value for key, value in stack_file.config.items() if key not in without}
    config.update(secrets)
    secret_keys = [key for key in stack_file.secret_keys if key not in without]
    secret_keys += [key for key in secrets if key not in secret_keys]
    pulumi.runtime.set_all_config(config, secret_keys)
    run = Run()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            _Recorder(config.get("aws:region", FAKE_REGION), run),
            project=PROJECT,
            stack=stack,
            preview=False,
        )
        try:
            declare_platform()
        except ConfigError as exc:
            run.error = exc
        finally:
            loop.run_until_complete(wait_for_rpcs())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return run


def declare(
    stack: str,
    root: Path = PROJECT_ROOT,
    *,
    without: tuple[str, ...] = (),
    secrets: Mapping[str, str] | None = None,
) -> Run:
    """Declare `stack` (in a fresh context, so nothing leaks into the next run)."""
    return contextvars.Context().run(_declare, stack, root, without, dict(secrets or {}))
