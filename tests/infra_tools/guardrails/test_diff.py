"""`python -m infra_tools diff`: added, removed and changed resources between two synth outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra_tools.cli import main
from infra_tools.graph import ResourceGraph
from infra_tools.guardrails.diff import as_markdown, as_text, diff
from infra_tools.type_tokens import KMS_KEY, S3_BUCKET
from tests.infra_tools.guardrails.cases import make


def test_added_removed_and_changed_inputs_are_listed() -> None:
    before = [
        make(KMS_KEY, "key", {"enableKeyRotation": True}),
        make(S3_BUCKET, "old", {}),
    ]
    after = [
        make(KMS_KEY, "key", {"enableKeyRotation": False}),
        make(S3_BUCKET, "new", {}),
    ]
    result = diff(ResourceGraph(before), ResourceGraph(after))
    assert [r["name"] for r in result.added] == ["new"]
    assert [r["name"] for r in result.removed] == ["old"]
    assert result.changed[0].fields == {"inputs.enableKeyRotation": (True, False)}
    markdown = as_markdown(result)
    assert "1 to add, 1 to change, 1 to remove" in markdown
    assert "| `inputs.enableKeyRotation` | `true` | `false` |" in markdown


def test_identical_outputs_have_no_changes(
    synth_dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(synth_dirs["dev"]), str(synth_dirs["dev"])]) == 0
    assert capsys.readouterr().out.strip() == "no changes"


def test_dev_to_prod_diff_as_markdown(
    synth_dirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(synth_dirs["dev"]), str(synth_dirs["prod"]), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Infrastructure diff:**") and "### Added" in out


def test_missing_synth_dir_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "run `python -m infra_tools synth` first" in capsys.readouterr().err


def test_changed_options_are_shown(tmp_path: Path) -> None:
    before = make(S3_BUCKET, "b", {})
    after = {**before, "options": {"protect": True}}
    result = diff(ResourceGraph([before]), ResourceGraph([after]))
    assert result.changed[0].fields == {"options.protect": (None, True)}
    assert json.dumps(result.as_json())


def test_changed_outputs_are_shown_by_name() -> None:
    resources = [make(S3_BUCKET, "b", {})]
    before = ResourceGraph(resources, {"bucket": "b-1", "gone": 1})
    after = ResourceGraph(resources, {"bucket": "b-2", "new": [1]})
    result = diff(before, after)
    assert result.outputs == {"bucket": ("b-1", "b-2"), "gone": (1, None), "new": (None, [1])}
    assert not result.changed and not result.empty
    text = as_text(result)
    assert '~ output bucket: "b-1" -> "b-2"' in text
    assert text.endswith("0 to add, 0 to change, 0 to remove, 3 outputs changed")
    assert "| `new` | `(absent)` | `[1]` |" in as_markdown(result)
