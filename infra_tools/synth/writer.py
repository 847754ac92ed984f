"""Writes a synthesis to disk: resources.json, outputs.json and manifests/*.yaml."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from infra_tools.graph import ResourceGraph
from infra_tools.synth.runner import Synthesis


def _manifest_file_name(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata", {})
    parts = [
        metadata.get("namespace", "cluster"),
        manifest["kind"],
        metadata.get("name", "unnamed"),
    ]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts)).lower() + ".yaml"


def write_synthesis(synthesis: Synthesis, out: Path) -> None:
    """Replace `out`'s synth files with this synthesis (stale manifests are removed)."""
    out.mkdir(parents=True, exist_ok=True)
    # Sorted by URN: registration order varies from run to run, and two syntheses of the
    # same program should be byte-identical files.
    resources = sorted(
        (
            {key: value for key, value in resource.items() if key != "custom"}
            for resource in synthesis.resources
        ),
        key=lambda resource: str(resource["urn"]),
    )
    (out / "resources.json").write_text(json.dumps(resources, indent=2, sort_keys=True) + "\n")
    (out / "outputs.json").write_text(
        json.dumps(synthesis.outputs, indent=2, sort_keys=True) + "\n"
    )
    manifests_dir = out / "manifests"
    shutil.rmtree(manifests_dir, ignore_errors=True)
    manifests_dir.mkdir()
    for manifest in synthesis.graph.manifests():
        path = manifests_dir / _manifest_file_name(manifest)
        if path.exists():
            raise ValueError(f"two Kubernetes objects map to {path.name}; give them distinct names")
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))


def load_graph(out: Path) -> ResourceGraph:
    """Read back a synth directory's resources.json and outputs.json (for diff)."""
    path = out / "resources.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run `python -m infra_tools synth` first")
    resources: list[dict[str, Any]] = json.loads(path.read_text())
    outputs_path = out / "outputs.json"
    outputs: dict[str, Any] = json.loads(outputs_path.read_text()) if outputs_path.is_file() else {}
    return ResourceGraph(resources, outputs, out.name)
