"""`make up` installs the pinned Pulumi CLI itself: verified, atomic, and clear when it can't.

A local HTTP server stands in for the release site and serves small fake archives laid out like
the real ones (one top-level `pulumi/` folder holding the binaries).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import re
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devtools import pulumi_cli
from tests.ports import free_port

# Slow: installer processes and a local HTTP server; `make quick` leaves them to `make test`.
pytestmark = pytest.mark.slow

VERSION = "3.0.0-test"
PLATFORM = "linux-x64"
ARCHIVE_NAME = f"pulumi-v{VERSION}-{PLATFORM}.tar.gz"
FAKE_VERSION_OUTPUT = "v3.0.0-fake"


def _script(body: str) -> bytes:
    return f"#!/bin/sh\n{body}\n".encode()


def build_archive(extra: dict[str, bytes] | None = None) -> bytes:
    """A gzipped tar shaped like a release: pulumi/pulumi and its Python language host."""
    members = {
        "pulumi/pulumi": _script(f"echo {FAKE_VERSION_OUTPUT}"),
        "pulumi/pulumi-language-python": _script("exit 0"),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        folder = tarfile.TarInfo("pulumi")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        tar.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ReleaseSite:
    """What the fake release server serves, and which paths were asked for."""

    url: str
    files: dict[str, bytes] = field(default_factory=dict[str, bytes])
    requests: list[str] = field(default_factory=list[str])


@pytest.fixture
def release_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReleaseSite]:
    """An HTTP server on a free loopback port, the download base URL pointed at it."""
    site = ReleaseSite(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            body = site.files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output to the assertions

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval keeps shutdown() in teardown quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv(pulumi_cli.DOWNLOAD_URL_ENV, site.url)
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def install(cache: Path, checksums: dict[str, str]) -> Path:
    return pulumi_cli.install(VERSION, cache, checksums, platform_name=PLATFORM)


def assert_nothing_installed(cache: Path) -> None:
    left = sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []
    assert left == [], f"a refused install left {left} in {cache}"


def test_good_archive_installs_a_cli_that_runs(release_site: ReleaseSite, tmp_path: Path) -> None:
    archive = build_archive()
    release_site.files[ARCHIVE_NAME] = archive
    cache = tmp_path / "tools" / "pulumi"

    bin_dir = install(cache, {PLATFORM: sha256(archive)})

    assert bin_dir == cache / VERSION / "bin"
    version = subprocess.run(
        [str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == FAKE_VERSION_OUTPUT
    assert os.access(bin_dir / "pulumi-language-python", os.X_OK)
    assert sorted(p.name for p in cache.iterdir()) == [VERSION], "temp files left in the cache"


def test_installed_cli_is_not_downloaded_again(release_site: ReleaseSite, tmp_path: Path) -> None:
    archive = build_archive()
    release_site.files[ARCHIVE_NAME] = archive
    cache = tmp_path / "pulumi"
    checksums = {PLATFORM: sha256(archive)}

    first = install(cache, checksums)
    second = install(cache, checksums)

    assert first == second
    assert release_site.requests == [f"/{ARCHIVE_NAME}"]


def test_wrong_checksum_is_refused_and_leaves_nothing_in_the_cache(
    release_site: ReleaseSite, tmp_path: Path
) -> None:
    release_site.files[ARCHIVE_NAME] = build_archive()
    cache = tmp_path / "pulumi"

    with pytest.raises(pulumi_cli.ChecksumMismatchError, match="refused") as refused:
        install(cache, {PLATFORM: "0" * 64})

    assert "\n" not in str(refused.value), "the checksum error should be one line"
    assert ARCHIVE_NAME in str(refused.value)
    assert_nothing_installed(cache)


def test_truncated_archive_is_refused_and_leaves_nothing_in_the_cache(
    release_site: ReleaseSite, tmp_path: Path
) -> None:
    truncated = build_archive()[:-40]
    release_site.files[ARCHIVE_NAME] = truncated
    cache = tmp_path / "pulumi"

    # Pinned to the truncated bytes, so only unpacking can notice.
    with pytest.raises(pulumi_cli.BadArchiveError, match="could not be unpacked"):
        install(cache, {PLATFORM: sha256(truncated)})

    assert_nothing_installed(cache)


# Unpacked without checks, the first two would land in tmp_path itself.
@pytest.mark.parametrize(
    "member", ["pulumi/../../../../escaped", "{tmp}/escaped", "elsewhere/pulumi"]
)
def test_archive_with_paths_outside_its_folder_is_refused(
    release_site: ReleaseSite, tmp_path: Path, member: str
) -> None:
    member = member.format(tmp=tmp_path)
    archive = build_archive({member: _script("exit 0")})
    release_site.files[ARCHIVE_NAME] = archive
    cache = tmp_path / "tools" / "pulumi"

    with pytest.raises(pulumi_cli.BadArchiveError, match=re.escape(repr(member))):
        install(cache, {PLATFORM: sha256(archive)})

    assert_nothing_installed(cache)
    assert not list(tmp_path.rglob("escaped")), f"{member} was written outside the cache"


def test_http_error_names_the_url_and_the_status(release_site: ReleaseSite, tmp_path: Path) -> None:
    with pytest.raises(pulumi_cli.DownloadError, match="HTTP 404") as failed:
        install(tmp_path / "pulumi", {PLATFORM: "0" * 64})

    assert f"{release_site.url}/{ARCHIVE_NAME}" in str(failed.value)
    assert_nothing_installed(tmp_path / "pulumi")


def test_unreachable_server_says_how_to_install_by_hand(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    cache = tmp_path / "pulumi"
    env = {
        **os.environ,
        "PATH": "",  # no `pulumi` to fall back on
        pulumi_cli.DOWNLOAD_URL_ENV: closed,
    }
    result = subprocess.run(
        [sys.executable, "-m", "devtools.pulumi_cli", "install", "--cache-dir", str(cache)],
        cwd=Path(pulumi_cli.__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    err = result.stderr
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) <= 5, f"expected a few lines, got:\n{err}"
    assert f"{closed}/pulumi-v{pulumi_cli.PULUMI_VERSION}-" in err, err
    assert "curl -fsSL https://get.pulumi.com | sh" in err and pulumi_cli.INSTALL_PAGE in err, err
    assert "make preview STACK=local" in err, err
    assert_nothing_installed(cache)


def test_cli_on_path_is_used_as_it_is(
    release_site: ReleaseSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "own-bin"
    own.mkdir()
    (own / "pulumi").write_bytes(_script("exit 0"))
    (own / "pulumi").chmod(0o755)
    monkeypatch.setenv("PATH", str(own))

    assert pulumi_cli.ensure(VERSION, tmp_path / "pulumi", {PLATFORM: "0" * 64}) is None
    assert release_site.requests == []


@pytest.mark.parametrize(("system", "machine"), [("Windows", "AMD64"), ("Linux", "riscv64")])
def test_unsupported_platform_names_the_supported_ones(system: str, machine: str) -> None:
    with pytest.raises(pulumi_cli.UnsupportedPlatformError) as refused:
        pulumi_cli.detect_platform(system, machine)

    message = str(refused.value)
    assert f"{system}/{machine}" in message and "Linux and macOS" in message, message
    assert pulumi_cli.INSTALL_PAGE in message


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("Linux", "x86_64", "linux-x64"),
        ("Linux", "aarch64", "linux-arm64"),
        ("Darwin", "x86_64", "darwin-x64"),
        ("Darwin", "arm64", "darwin-arm64"),
    ],
)
def test_platform_names_match_the_release_archives(
    system: str, machine: str, expected: str
) -> None:
    assert pulumi_cli.detect_platform(system, machine) == expected


def test_platform_without_a_pinned_checksum_is_refused_before_downloading(
    release_site: ReleaseSite, tmp_path: Path
) -> None:
    with pytest.raises(pulumi_cli.UnsupportedPlatformError, match="no checksum is pinned"):
        pulumi_cli.install(VERSION, tmp_path / "pulumi", {"darwin-arm64": "0" * 64}, PLATFORM)

    assert release_site.requests == []


def test_every_supported_platform_has_a_pinned_sha256() -> None:
    assert set(pulumi_cli.RELEASE_SHA256) == {
        "linux-x64",
        "linux-arm64",
        "darwin-x64",
        "darwin-arm64",
    }
    for name, digest in pulumi_cli.RELEASE_SHA256.items():
        assert re.fullmatch(r"[0-9a-f]{64}", digest), f"{name}: {digest!r} is not a hex sha256"
