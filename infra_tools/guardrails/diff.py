"""What changes between two synth outputs: resources added, removed and changed (by URN), and
stack outputs changed (by name)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from infra_tools.graph import Resource, ResourceGraph
from infra_tools.inputs import mapping

# Compared besides the inputs: a change to these is as reviewable as an input change.
_COMPARED = ("options", "provider", "parent")


@dataclass(frozen=True)
class Change:
    urn: str
    type: str
    name: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict[str, tuple[Any, Any]])
    """Dotted path -> (before, after); absent values are None."""


@dataclass(frozen=True)
class StackDiff:
    added: list[Resource]
    removed: list[Resource]
    changed: list[Change]
    outputs: dict[str, tuple[Any, Any]] = field(default_factory=dict[str, tuple[Any, Any]])
    """Stack output name -> (before, after) for every output that differs; absent is None."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs)

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [{"urn": r["urn"], "type": r["type"], "name": r["name"]} for r in self.added],
            "removed": [
                {"urn": r["urn"], "type": r["type"], "name": r["name"]} for r in self.removed
            ],
            "changed": [
                {
                    "urn": c.urn,
                    "type": c.type,
                    "name": c.name,
                    "fields": {k: {"before": b, "after": a} for k, (b, a) in c.fields.items()},
                }
                for c in self.changed
            ],
            "outputs": {k: {"before": b, "after": a} for k, (b, a) in self.outputs.items()},
        }


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in mapping(value).items():
            _flatten(item, f"{prefix}.{key}" if prefix else key, out)
    else:
        out[prefix] = value


def _fields(before: Resource, after: Resource) -> dict[str, tuple[Any, Any]]:
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in ("inputs", *_COMPARED):
        _flatten(before.get(key), key, old)
        _flatten(after.get(key), key, new)
    return {
        path: (old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    }


def _outputs(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


def diff(before: ResourceGraph, after: ResourceGraph) -> StackDiff:
    old = {resource["urn"]: resource for resource in before.resources}
    new = {resource["urn"]: resource for resource in after.resources}
    changed: list[Change] = []
    for urn in sorted(old.keys() & new.keys()):
        fields = _fields(old[urn], new[urn])
        if fields:
            changed.append(Change(urn, new[urn]["type"], new[urn]["name"], fields))
    return StackDiff(
        added=[new[urn] for urn in sorted(new.keys() - old.keys())],
        removed=[old[urn] for urn in sorted(old.keys() - new.keys())],
        changed=changed,
        outputs=_outputs(before.outputs, after.outputs),
    )


def _value(value: Any, limit: int = 80) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(result: StackDiff) -> str:
    text = (
        f"{len(result.added)} to add, {len(result.changed)} to change, "
        f"{len(result.removed)} to remove"
    )
    return text + (f", {len(result.outputs)} outputs changed" if result.outputs else "")


def as_text(result: StackDiff) -> str:
    if result.empty:
        return "no changes"
    lines = [f"+ {r['type']} {r['name']}" for r in result.added]
    lines += [f"- {r['type']} {r['name']}" for r in result.removed]
    for change in result.changed:
        lines.append(f"~ {change.type} {change.name}")
        lines += [
            f"    {path}: {_value(b)} -> {_value(a)}" for path, (b, a) in change.fields.items()
        ]
    lines += [
        f"~ output {key}: {_value(b)} -> {_value(a)}" for key, (b, a) in result.outputs.items()
    ]
    lines.append(_summary(result))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "`" + _value(value).replace("|", "\\|").replace("`", "'") + "`"


def as_markdown(result: StackDiff) -> str:
    """The PR comment: a summary line, then a table per kind of change."""
    summary = f"**Infrastructure diff:** {_summary(result)}"
    if result.empty:
        return summary + "\n\nNo resource changes.\n"
    parts = [summary]
    for title, resources in (("Added", result.added), ("Removed", result.removed)):
        if resources:
            rows = [f"| `{r['type']}` | `{r['name']}` |" for r in resources]
            parts.append(f"### {title}\n\n| Type | Name |\n|---|---|\n" + "\n".join(rows))
    if result.changed:
        rows = [
            f"| `{c.name}` (`{c.type}`) | `{path}` | {_cell(b)} | {_cell(a)} |"
            for c in result.changed
            for path, (b, a) in c.fields.items()
        ]
        parts.append(
            "### Changed\n\n| Resource | Field | Before | After |\n|---|---|---|---|\n"
            + "\n".join(rows)
        )
    if result.outputs:
        rows = [f"| `{key}` | {_cell(b)} | {_cell(a)} |" for key, (b, a) in result.outputs.items()]
        parts.append(
            "### Outputs\n\n| Output | Before | After |\n|---|---|---|\n" + "\n".join(rows)
        )
    return "\n\n".join(parts) + "\n"
