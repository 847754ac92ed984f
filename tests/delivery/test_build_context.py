"""Every file a Dockerfile copies from the build context is in it: `.dockerignore` sends only
what it lets through, and a missing one fails the image build in CI, before any deploy."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "app" / "Dockerfile", ROOT / "images" / "tracking" / "Dockerfile"]


def _patterns() -> list[tuple[bool, str]]:
    """(is an exception, pattern) in file order; the last match decides."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [
        (line.startswith("!"), line.lstrip("!").rstrip("/"))
        for line in (raw.strip() for raw in lines)
        if line and not line.startswith("#")
    ]


def sent(path: str) -> bool:
    """Whether the build context holds `path`: a pattern matches it or a folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for exception, pattern in _patterns():
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            included = exception
    return included


def _copied(dockerfile: Path) -> list[str]:
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"COPY\s+(.*)$", line.strip())
        if not match or "--from=" in match.group(1):
            continue
        words = [w for w in match.group(1).split() if not w.startswith("--")]
        sources += words[:-1]
    return sources


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_copied_file_is_in_the_build_context(dockerfile: Path) -> None:
    sources = _copied(dockerfile)
    assert sources, "the Dockerfile copies something from the context"
    missing = [source for source in sources if not sent(source)]
    assert not missing, (
        f"{dockerfile.relative_to(ROOT)} copies {missing}, which .dockerignore drops"
    )


def test_the_context_holds_nothing_else() -> None:
    assert not sent("Pulumi.dev.yaml") and not sent("infra/platform.py")
    assert not sent("app/serving/__pycache__/api.cpython-311.pyc")
