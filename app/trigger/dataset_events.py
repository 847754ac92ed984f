"""Retrain when new data lands: S3 event notifications for the dataset prefix, from SQS.

The bucket notifies a queue when an object is created under the dataset prefix. Each poll
reads a batch, keeps the events for data (`.csv`) and the schema under the prefix, and asks
the launcher for one retraining for the whole batch:
- a launch that starts a training deletes the batch (that training reads the new data);
- a training already running, or one already started in this window, may have read the data
  before it landed: the messages are left undeleted, SQS delivers them again after their
  visibility timeout, and the retraining is asked for again then. Nothing is lost to a
  restart of the consumer either; a message that keeps failing ends in the dead-letter queue.
De-duplicated three times: one launch per batch, one Job per window (the launcher), and the
retraining itself trains nothing when the dataset's digest has not changed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote_plus

from app.trigger.jobs import Launcher, LaunchResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    messages: int
    changed_keys: list[str]
    launch: LaunchResult | None
    """None when the batch held no dataset change."""


def dataset_keys(body: str, prefix: str) -> list[str]:
    """Keys of created dataset objects in one notification body; [] for anything else
    (S3's test event, another prefix, a report, a body that is not a notification)."""
    try:
        message = json.loads(body)
    except ValueError:
        log.warning("a queue message is not JSON; ignored", extra={"body": body[:200]})
        return []
    records = cast(dict[str, Any], message).get("Records") if isinstance(message, dict) else None
    keys: list[str] = []
    for record in cast(list[Any], records) if isinstance(records, list) else []:
        key = _created_key(record)
        if key and _is_dataset_object(key, prefix):
            keys.append(key)
    return keys


def _is_dataset_object(key: str, prefix: str) -> bool:
    """What training reads (`app.data_versions`): a CSV under the prefix outside `_...`
    folders, or the prefix's own schema.json."""
    if not key.startswith(prefix) or "/_" in key[len(prefix) - 1 :]:
        return False
    return key.endswith(".csv") or key == f"{prefix}schema.json"


def _created_key(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    fields = cast(dict[str, Any], record)
    if not str(fields.get("eventName", "")).startswith("ObjectCreated"):
        return None
    try:
        # Keys arrive URL-encoded (spaces as '+').
        return unquote_plus(str(fields["s3"]["object"]["key"]))
    except (KeyError, TypeError):
        return None


class DatasetEventConsumer:
    def __init__(self, sqs: Any, queue_url: str, prefix: str, launcher: Launcher) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._prefix = prefix
        self._launcher = launcher

    def poll_once(self, wait_seconds: int = 20) -> PollResult:
        """One long poll; launches a retraining when the batch changed the dataset."""
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        changed = sorted({key for m in messages for key in dataset_keys(m["Body"], self._prefix)})
        if not changed:
            self._delete(messages)  # nothing to train on: done with them
            return PollResult(len(messages), [], None)
        result = self._launcher.launch(f"new data: {', '.join(changed[:5])}")
        log.info(
            "dataset changed",
            extra={"keys": changed[:20], "outcome": result.outcome, "job": result.job},
        )
        if result.outcome == "created":
            self._delete(messages)
        return PollResult(len(messages), changed, result)

    def _delete(self, messages: Iterable[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        if entries:
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)


def consume_forever(
    consumer: DatasetEventConsumer, stop: threading.Event, backoff_seconds: float = 30.0
) -> None:
    """Poll until `stop` is set; a failed poll (queue unreachable, API error) is logged and
    retried after `backoff_seconds`, never ends the loop."""
    while not stop.is_set():
        try:
            consumer.poll_once()
        except Exception:
            log.exception("polling the dataset queue failed; retrying")
            stop.wait(backoff_seconds)
