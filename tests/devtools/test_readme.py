"""The config reference (docs/config-reference.md) is the code's: a new or renamed key must
show up there."""

from __future__ import annotations

from devtools.readme import REFERENCE, with_reference


def test_readme_config_reference_is_current() -> None:
    text = REFERENCE.read_text()
    assert with_reference(text) == text, "docs/config-reference.md is stale; run `make docs`"
