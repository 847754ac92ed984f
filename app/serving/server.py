"""How the API runs under uvicorn: the options `serve` and the benchmark share."""

from __future__ import annotations

from typing import Any

import uvicorn

# uvloop and httptools are the C event loop and HTTP parser; with the access log off (the
# metrics middleware counts every request) they roughly halve uvicorn's own per-request cost.
# log_config=None keeps the app's JSON logging (app.logs) instead of uvicorn's formatter.
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,
    "log_config": None,
}


def run(api: Any, host: str, port: int) -> None:
    """Serve `api` on host:port in this process (one worker: see the README, The app: Benchmark)."""
    uvicorn.run(api, host=host, port=port, **UVICORN_OPTIONS)
