"""How the HTTP apps run: Granian, embedded in this process, with the limits below.

The model server (`serve`, the benchmark) and the retrain trigger both run through `run`.
The load balancer passes raw TCP through, so the pod itself must bound what one client can
hold: Granian (hyper underneath) answers 431 to a request head over `max_head_bytes` and
closes a connection whose head is not complete `header_timeout_seconds` after it became
idle: a new connection that sends nothing, one that trickles a head (slowloris), and an idle
keep-alive connection alike. uvicorn with httptools bounds none of these.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass
from typing import Any

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server

log = logging.getLogger(__name__)


class ServerError(Exception):
    """The server stopped on its own, e.g. the app's lifespan startup failed."""


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """What one client can hold on the server; docs/app.md, Security limits."""

    max_head_bytes: int = 16 * 1024
    """Request line plus headers; larger heads get 431. hyper's floor is 8 KiB."""
    header_timeout_seconds: float = 5.0
    """A head must be complete this long after the connection became idle (new or kept
    alive), or the connection is closed. Also the keep-alive idle timeout."""
    max_connections: int = 2048
    """Connections served at once; further ones wait in the listen backlog. High, because an
    idle connection costs little and the probes queue behind the cap like any client; request
    memory is bounded by the body limit and the bodies read at once (app.serving.middleware
    BODIES_IN_FLIGHT), not by this."""
    backlog: int = 4096
    """Connections the kernel queues while all `max_connections` are busy."""

    def __post_init__(self) -> None:
        if self.max_head_bytes < 8192:
            raise ValueError(
                f"max_head_bytes={self.max_head_bytes} is below 8192, the least the HTTP/1 "
                "parser accepts; use 8192 or more"
            )
        if not 0 < self.header_timeout_seconds <= 300:
            raise ValueError(
                f"header_timeout_seconds={self.header_timeout_seconds} must be in (0, 300]"
            )
        if self.max_connections < 1 or self.backlog < 1:
            raise ValueError("max_connections and backlog must be at least 1")


MODEL_SERVER_LIMITS = ServerLimits()
# The trigger (192 Mi pod) only hears from Alertmanager: a few connections are plenty.
TRIGGER_LIMITS = ServerLimits(max_connections=32, backlog=128)


def _server(api: Any, host: str, port: int, limits: ServerLimits) -> Server:
    return Server(
        api,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        # HTTP/1.1 only: in `auto` mode the connection sniffs for an HTTP/2 preface first,
        # and a connection that sends nothing at all is then never timed out.
        http=HTTPModes.http1,
        websockets=False,
        backlog=limits.backlog,
        backpressure=limits.max_connections,
        http1_settings=HTTP1Settings(
            header_read_timeout=round(limits.header_timeout_seconds * 1000),
            keep_alive=True,
            max_buffer_size=limits.max_head_bytes,
        ),
        # Granian's records go to the root logger (app.logs' JSON handler); no access log:
        # the metrics middleware counts every request. Incremental: a full configuration
        # would first close every handler the process has, the app's own included.
        log_dictconfig={
            "version": 1,
            "incremental": True,
            "formatters": {},
            "handlers": {},
            "loggers": {"_granian": {"propagate": True}},
        },
        log_level=LogLevels(logging.getLevelName(logging.getLogger().level).lower()),
        log_access=False,
    )


async def _serve(api: Any, host: str, port: int, limits: ServerLimits) -> None:
    server = _server(api, host, port, limits)
    loop = asyncio.get_running_loop()
    # The embedded server leaves signals to its host; SIGTERM is how Kubernetes stops a pod.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    await server.serve()
    if server.interrupt_children:  # pyright: ignore[reportUnknownMemberType] - untyped list
        raise ServerError(f"the server on {host}:{port} stopped on its own; see the log above")


def run(api: Any, host: str, port: int, limits: ServerLimits = MODEL_SERVER_LIMITS) -> None:
    """Serve the ASGI app `api` on host:port in this process until SIGTERM or SIGINT.

    One worker, on uvloop: see docs/app.md, Benchmark.
    """
    # The modules and the app, built by now, are most of the heap and live as long as the
    # process: out of the collector's way, so that its full collections, which would walk
    # all of it (40 ms measured: the slowest requests' wait), stay short.
    gc.collect()
    gc.freeze()
    uvloop.run(_serve(api, host, port, limits))
