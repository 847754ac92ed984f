"""The benchmark's profile summary charges each sample to the part of the request path it
was in, and its process figures read /proc right."""

from __future__ import annotations

import os
import time

from bench import process_stats, profile

FOLDED = "\n".join(
    [
        # innermost last: onnxruntime under the handler is the model's time
        "run (app/serving/server.py:1);answer (app/serving/routes/predictions.py:9);"
        "Session.run (onnxruntime/capi/onnxruntime_inference_collection.py:406) 30",
        # json under the capture writer is the writer's, not the request log's
        "run (threading.py:1);_encode (app/capture/writer.py:5);dumps (json/__init__.py:2) 10",
        "run (app/serving/server.py:1);_log_request (app/serving/middleware.py:115);"
        "format (app/logs.py:3) 5",
        " 50",  # a thread with no Python frame
        "run (app/serving/server.py:1);somewhere (site-packages/other/lib.py:1) 5",
        "not a sample line",
    ]
)


def test_samples_are_charged_to_the_innermost_part_that_recognises_them() -> None:
    parts, total = profile.summarize(FOLDED)
    assert total == 100
    assert parts["model (onnxruntime)"] == 30
    assert parts["capture writer"] == 10
    assert parts["request logs"] == 5
    assert parts["server I/O threads (Granian, native)"] == 50
    assert parts["other"] == 5
    assert profile.shares(parts, total)["model (onnxruntime)"] == 30.0


def test_cpu_time_and_memory_of_this_process() -> None:
    before = process_stats.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    used = process_stats.cpu_seconds(os.getpid()) - before
    assert 0.2 <= used <= 2.0
    assert 10 < process_stats.rss_mib(os.getpid()) < 10_000
