"""The README's config reference is the code's: a new or renamed key must show up there."""

from __future__ import annotations

from devtools.readme import README, with_reference


def test_readme_config_reference_is_current() -> None:
    text = README.read_text()
    assert with_reference(text) == text, "README's config reference is stale; run `make docs`"
