"""Where the model server's time goes: py-spy samples the running server from outside (no
change to it), and the samples are summed into the parts of the request path.

py-spy comes from the benchmark's own environment (`.cache/bench/venv`, bench/reference/
requirements.txt). It needs to trace the server process (root, or ptrace permission); when it
cannot, the benchmark says why and goes on without a profile.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections import Counter
from pathlib import Path

# Each sample is charged to the innermost frame that one of these recognises (checked in
# order, on the frame's file path); a sample none recognises is "other".
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model (onnxruntime)", ("onnxruntime/",)),
    ("drift", ("app/drift.py",)),
    ("prediction ids", ("app/serving/prediction_ids.py", "/hmac.py", "/secrets.py")),
    ("capture writer", ("app/capture/",)),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("request logs", ("/logging/", "app/logs.py", "_log_request (")),
    ("validation and JSON (pydantic)", ("pydantic/", "pydantic_core/")),
    ("shadow scoring", ("app/serving/shadow.py",)),
    (
        "handler (app.serving)",
        ("app/serving/routes/", "app/serving/inputs.py", "app/serving/model.py"),
    ),
    (
        "app middleware (auth, body limit, metrics, logs)",
        ("app/serving/middleware.py", "app/serving/auth.py"),
    ),
    ("FastAPI", ("fastapi/",)),
    ("Starlette (routing, requests)", ("starlette/",)),
    ("server and event loop (Granian, asyncio)", ("granian/", "asyncio/", "uvloop/")),
    ("numpy", ("numpy/",)),
)


class Sampler:
    """py-spy sampling one process for a fixed time, started now; `result()` waits for it."""

    def __init__(self, pid: int, seconds: float, py_spy: Path) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bench-profile-")
        self._out = Path(self._dir.name) / "stacks.txt"
        self._seconds = seconds
        self._process = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "200",
                "--format",
                "raw",
                # Reads the server's memory without stopping it: the profile does not slow
                # what it measures (a sample may rarely be torn, which only adds noise).
                "--nonblocking",
                "--output",
                str(self._out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def result(self) -> tuple[Counter[str], int] | str:
        """Samples per part and their total, or why there is no profile."""
        try:
            output, _ = self._process.communicate(timeout=self._seconds + 60)
            if self._process.returncode != 0 or not self._out.exists():
                return f"py-spy could not sample the server: {output.strip()[-300:]}"
            return summarize(self._out.read_text())
        finally:
            self._dir.cleanup()


def summarize(folded: str) -> tuple[Counter[str], int]:
    """Samples per part of py-spy's raw (folded) stacks: `frame;frame;... count` per line,
    each frame `function (file:line)`, the innermost last."""
    parts: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        parts[_part(stack.split(";"))] += samples
    return parts, total


def _part(frames: list[str]) -> str:
    if not any(frames):
        # A thread with no Python frame: Granian's own (Rust) threads parsing and writing
        # HTTP, and native code outside the interpreter.
        return "server I/O threads (Granian, native)"
    for frame in reversed(frames):
        for name, markers in PARTS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def shares(parts: Counter[str], total: int) -> dict[str, float]:
    """Percent of the samples per part, largest first."""
    return (
        {name: round(100 * count / total, 1) for name, count in parts.most_common()}
        if total
        else {}
    )
