"""Structured JSON logs on stderr, one object per line."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

# At DEBUG the AWS SDK logs every request it signs: access key id, session token and
# signature included. These loggers stay at WARNING whatever MLOPS_LOG_LEVEL says.
CREDENTIAL_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in CREDENTIAL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
