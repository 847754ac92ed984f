"""The Pulumi CLI for `make up`: a pinned release, checksum-verified, in the project's tool cache.

When `pulumi` is not on PATH, the release archive for this machine is downloaded into a
temporary folder inside the cache, its sha256 compared with the one pinned below, unpacked
and only then renamed into `.cache/tools/pulumi/<version>/bin`. Whatever goes wrong, nothing
half-installed is left behind. Standard library only, so it needs nothing but Python.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import platform
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = PROJECT_ROOT / ".cache" / "tools" / "pulumi"

# Pinned, never "latest": every machine runs the same CLI, and its archive can be verified.
# This was the newest release whose per-platform checksums were published by a source other
# than the download site when the pin was set. To move it, take the four lines (linux/darwin,
# x64/arm64) from pulumi-<version>-checksums.txt, published beside the release, check them
# against a second source, and update both constants.
PULUMI_VERSION = "3.221.0"
# sha256 of pulumi-v3.221.0-<platform>.tar.gz: the hashes the NixOS package collection pins for
# this release (pkgs/by-name/pu/pulumi-bin/data.nix), converted from Nix's base-32 to hex.
RELEASE_SHA256: Mapping[str, str] = {
    "linux-x64": "fe736f91b4153f94f859870e34dda01e648552c25f702c8a42282acf3a5db9ad",
    "linux-arm64": "baaf077a8b851da4fd1f6434860b56fec43f877709fe5a22ed3bbd335af57a37",
    "darwin-x64": "6c275ff21c2a2790dc4ac9536be745f0fa65b9eab32e5dc896d1e4cd79fafb6b",
    "darwin-arm64": "4d3024f24131440cacc9d04cf9a19dc673c821216fe5fec848d1ce5af0c06092",
}

DOWNLOAD_URL_ENV = "MLOPS_PULUMI_DOWNLOAD_URL"
DEFAULT_DOWNLOAD_URL = "https://get.pulumi.com/releases/sdk"
# Per socket operation, not for the whole ~100 MB download: an unreachable server fails fast.
DOWNLOAD_TIMEOUT_SECONDS = 15.0
INSTALL_PAGE = "https://www.pulumi.com/docs/iac/download-install/"
# The language host runs the Python program; pulumi finds it on PATH beside itself.
REQUIRED_BINARIES = ("pulumi", "pulumi-language-python")
# Release archives hold every binary in one top-level folder of this name.
ARCHIVE_TOP_DIR = "pulumi"

_OS_NAMES = {"linux": "linux", "darwin": "darwin"}
_ARCH_NAMES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class PulumiCliError(RuntimeError):
    """The Pulumi CLI is missing and could not be installed; the message says what to do."""


class UnsupportedPlatformError(PulumiCliError):
    """No release is pinned for this operating system or CPU."""


class DownloadError(PulumiCliError):
    """The release archive could not be fetched (no network, DNS, HTTP error, timeout)."""


class ChecksumMismatchError(PulumiCliError):
    """The downloaded archive is not the one pinned in this module."""


class BadArchiveError(PulumiCliError):
    """The archive is corrupt, truncated, or holds paths outside its top-level folder."""


def detect_platform(system: str | None = None, machine: str | None = None) -> str:
    """This machine as the release archives name it, e.g. `linux-x64` or `darwin-arm64`."""
    system = system if system is not None else platform.system()
    machine = machine if machine is not None else platform.machine()
    os_name = _OS_NAMES.get(system.lower())
    arch = _ARCH_NAMES.get(machine.lower())
    if os_name is None or arch is None:
        raise UnsupportedPlatformError(
            f"no Pulumi CLI release is pinned for {system}/{machine}: `make up` installs it "
            f"on Linux and macOS, x86_64 or arm64; install it by hand ({INSTALL_PAGE}) and rerun"
        )
    return f"{os_name}-{arch}"


def bin_dir(version: str = PULUMI_VERSION, cache_dir: Path | None = None) -> Path:
    """Where `install` puts the binaries of `version`."""
    return (cache_dir or TOOLS_DIR) / version / "bin"


def is_installed(version: str = PULUMI_VERSION, cache_dir: Path | None = None) -> bool:
    directory = bin_dir(version, cache_dir)
    return all(os.access(directory / name, os.X_OK) for name in REQUIRED_BINARIES)


def ensure(
    version: str = PULUMI_VERSION,
    cache_dir: Path | None = None,
    checksums: Mapping[str, str] = RELEASE_SHA256,
) -> Path | None:
    """The folder to put first on PATH for `pulumi`, or None when PATH already has one."""
    if shutil.which("pulumi") is not None:
        return None
    return install(version, cache_dir, checksums)


def install(
    version: str = PULUMI_VERSION,
    cache_dir: Path | None = None,
    checksums: Mapping[str, str] = RELEASE_SHA256,
    platform_name: str | None = None,
) -> Path:
    """Install `version` into the tool cache (once) and return its bin folder."""
    cache_dir = cache_dir or TOOLS_DIR
    target = cache_dir / version
    if is_installed(version, cache_dir):
        return bin_dir(version, cache_dir)
    platform_name = platform_name or detect_platform()
    expected = checksums.get(platform_name)
    if expected is None:
        raise UnsupportedPlatformError(
            f"no checksum is pinned for Pulumi CLI {version} on {platform_name} (pinned: "
            f"{', '.join(sorted(checksums))}); install it by hand ({INSTALL_PAGE}) and rerun"
        )
    url = release_url(version, platform_name)
    print(f"==> install the Pulumi CLI {version} ({platform_name}): {url}", flush=True)
    started = time.perf_counter()
    created_cache = not cache_dir.exists()
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Inside the cache, so the final rename stays on one filesystem and is atomic.
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{version}-") as scratch:
            archive = Path(scratch) / "pulumi.tar.gz"
            actual = _download(url, archive)
            if actual != expected:
                raise ChecksumMismatchError(
                    f"{url} has sha256 {actual}, but {expected} is pinned for Pulumi CLI "
                    f"{version} ({platform_name}); refused, nothing was installed"
                )
            staged = Path(scratch) / version
            _unpack(archive, staged, url)
            _publish(staged, target)
    except PulumiCliError:
        if created_cache:
            with contextlib.suppress(OSError):
                cache_dir.rmdir()  # only if empty: another install may be under way
        raise
    elapsed = time.perf_counter() - started
    print(f"    sha256 verified, installed in {target} ({elapsed:.1f}s)", flush=True)
    return bin_dir(version, cache_dir)


def release_url(version: str, platform_name: str) -> str:
    base = os.environ.get(DOWNLOAD_URL_ENV) or DEFAULT_DOWNLOAD_URL
    return f"{base.rstrip('/')}/pulumi-v{version}-{platform_name}.tar.gz"


def _download(url: str, destination: Path) -> str:
    """Stream `url` into `destination`; return the sha256 of what arrived."""
    if not url.startswith(("https://", "http://")):
        raise DownloadError(_cannot_download(url, f"not an http(s) URL; check ${DOWNLOAD_URL_ENV}"))
    digest = hashlib.sha256()
    try:
        # S310: the scheme is http(s), checked above.
        response = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS)  # noqa: S310
        with response, destination.open("wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise DownloadError(_cannot_download(url, f"HTTP {exc.code} {exc.reason}")) from None
    except urllib.error.URLError as exc:
        raise DownloadError(_cannot_download(url, str(exc.reason))) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(_cannot_download(url, str(exc) or type(exc).__name__)) from None
    return digest.hexdigest()


def _cannot_download(url: str, reason: str) -> str:
    return (
        "the Pulumi CLI is not on PATH and its pinned release could not be downloaded.\n"
        f"  Tried: {url} ({reason})\n"
        f"  Install it by hand: {INSTALL_PAGE} (e.g. `curl -fsSL https://get.pulumi.com | sh`),"
        " then rerun `make up`.\n"
        "  Offline, `make preview STACK=local` shows the same stack without the CLI, and"
        " `make synth STACK=local` writes its full resource graph."
    )


def _unpack(archive: Path, staged: Path, url: str) -> None:
    """Unpack into `staged`/bin, refusing anything outside the archive's top-level folder."""
    staged.mkdir()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, url)
            if hasattr(tarfile, "data_filter"):
                # Also refuses links out of the folder and device files and drops setuid
                # bits: a second line of defence behind the checks above.
                tar.extractall(staged, members=members, filter="data")
            else:  # Python before 3.11.4 has no filters; the checks above still hold
                tar.extractall(staged, members=members)  # noqa: S202
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BadArchiveError(
            f"the Pulumi CLI archive from {url} could not be unpacked ({exc}); "
            "refused, nothing was installed"
        ) from None
    if (staged / ARCHIVE_TOP_DIR).is_dir():
        (staged / ARCHIVE_TOP_DIR).rename(staged / "bin")
    missing = [name for name in REQUIRED_BINARIES if not (staged / "bin" / name).is_file()]
    if missing:
        raise BadArchiveError(
            f"the Pulumi CLI archive from {url} lacks {', '.join(missing)} in its "
            f"{ARCHIVE_TOP_DIR}/ folder; refused, nothing was installed"
        )


def _check_member(member: tarfile.TarInfo, url: str) -> None:
    path = PurePosixPath(member.name)
    outside = path.is_absolute() or ".." in path.parts or path.parts[:1] != (ARCHIVE_TOP_DIR,)
    if outside or not (member.isfile() or member.isdir()):
        raise BadArchiveError(
            f"the Pulumi CLI archive from {url} holds {member.name!r}, which is not a file or "
            f"folder under {ARCHIVE_TOP_DIR}/; refused, nothing was installed"
        )


def _publish(staged: Path, target: Path) -> None:
    try:
        staged.rename(target)
    except OSError as exc:
        # A concurrent install got there first; its result is as good as ours.
        if not (target / "bin" / "pulumi").is_file():
            raise PulumiCliError(
                f"could not move the unpacked Pulumi CLI into {target} ({exc}); "
                f"remove {target} if it is left over from an older install and rerun"
            ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.pulumi_cli",
        description=f"Install the pinned Pulumi CLI ({PULUMI_VERSION}) unless PATH has one.",
    )
    parser.add_argument("action", choices=["install"])
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=TOOLS_DIR,
        help="tool cache (default: .cache/tools/pulumi)",
    )
    args = parser.parse_args(argv)
    try:
        directory = ensure(cache_dir=args.cache_dir)
    except PulumiCliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if directory is None:
        print(f"Pulumi CLI: {shutil.which('pulumi')} (on PATH)")
    else:
        print(f"Pulumi CLI {PULUMI_VERSION}: {directory / 'pulumi'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
