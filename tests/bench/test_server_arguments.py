"""The benchmark starts its server with a random API key; every key must reach it intact."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench import server
from bench.serving_runs import server_arguments


@pytest.mark.parametrize("key", ["-starts-with-a-dash_0123", "--looks-like-an-option", "plain"])
def test_the_server_reads_back_every_key_the_benchmark_draws(key: str) -> None:
    # secrets.token_urlsafe draws "-" as a first character one time in 64.
    runs = argparse.Namespace(request_log_sample_rate=0.5, capture_sample_rate=1.0)
    line = server_arguments(runs, Path("model"), 8123, key, Path("captures"))
    parsed = server.arguments().parse_args(line)
    assert parsed.api_key == key
    assert (parsed.port, parsed.request_log_sample_rate) == (8123, 0.5)
