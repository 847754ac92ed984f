"""Query helpers over a synthesized stack, so tests read like the property they check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra_tools.synth import Synthesis


@dataclass(frozen=True)
class Graph:
    synthesis: Synthesis

    @property
    def stack(self) -> str:
        return self.synthesis.stack

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.synthesis.resources

    @property
    def outputs(self) -> dict[str, Any]:
        return self.synthesis.outputs

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [resource for resource in self.resources if resource["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        """The single resource of `type_token` (named `name` when given); fails otherwise."""
        matches = [
            resource
            for resource in self.of_type(type_token)
            if name is None or resource["name"] == name
        ]
        assert len(matches) == 1, (
            f"stack {self.stack}: expected one {type_token}"
            f"{f' named {name}' if name else ''}, found {[m['name'] for m in matches]}"
        )
        return matches[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        for resource in self.resources:
            if resource["urn"] == urn:
                return resource
        raise AssertionError(f"stack {self.stack}: no resource with urn {urn}")

    def manifests(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.synthesis.manifests() if kind is None or m["kind"] == kind]

    def manifest(self, kind: str, name: str) -> dict[str, Any]:
        matches = [m for m in self.manifests(kind) if m["metadata"].get("name") == name]
        assert len(matches) == 1, (
            f"stack {self.stack}: expected one {kind} {name}, found {len(matches)}"
        )
        return matches[0]
