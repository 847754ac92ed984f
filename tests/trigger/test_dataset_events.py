"""The new-data trigger's decisions, against a recording queue and launcher."""

from __future__ import annotations

import json
from typing import Any

from app.trigger.dataset_events import DatasetEventConsumer, dataset_keys
from app.trigger.jobs import LaunchResult, Outcome

PREFIX = "datasets/iris/"


def _event(key: str, name: str = "ObjectCreated:Put") -> str:
    return json.dumps({"Records": [{"eventName": name, "s3": {"object": {"key": key}}}]})


class RecordingQueue:
    def __init__(self, bodies: list[str]) -> None:
        self.messages = [{"Body": b, "ReceiptHandle": f"r{i}"} for i, b in enumerate(bodies)]
        self.deleted: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": self.messages}

    def delete_message_batch(self, **request: Any) -> None:
        self.deleted += [entry["ReceiptHandle"] for entry in request["Entries"]]


class RecordingLauncher:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome: Outcome = outcome
        self.reasons: list[str] = []

    def launch(self, reason: str) -> LaunchResult:
        self.reasons.append(reason)
        return LaunchResult(self.outcome, "job")


def test_only_created_data_and_schema_objects_under_the_prefix_count() -> None:
    assert dataset_keys(_event("datasets/iris/new+rows.csv"), PREFIX) == [
        "datasets/iris/new rows.csv"
    ]
    assert dataset_keys(_event("datasets/iris/schema.json"), PREFIX) == [
        "datasets/iris/schema.json"
    ]
    assert dataset_keys(_event("datasets/other/x.csv"), PREFIX) == []
    assert dataset_keys(_event("datasets/iris/notes.txt"), PREFIX) == []
    assert dataset_keys(_event("datasets/iris/_reports/x.csv"), PREFIX) == []
    assert dataset_keys(_event("datasets/iris/old/schema.json"), PREFIX) == []
    assert dataset_keys(_event("datasets/iris/x.csv", "ObjectRemoved:Delete"), PREFIX) == []
    assert dataset_keys(json.dumps({"Event": "s3:TestEvent"}), PREFIX) == []
    assert dataset_keys("not json", PREFIX) == []
    assert dataset_keys("[1, 2]", PREFIX) == []


def test_a_batch_of_uploads_starts_one_retraining_and_is_then_deleted() -> None:
    queue = RecordingQueue([_event(f"datasets/iris/{i}.csv") for i in range(3)])
    launcher = RecordingLauncher("created")
    result = DatasetEventConsumer(queue, "url", PREFIX, launcher).poll_once(0)
    assert len(launcher.reasons) == 1 and len(result.changed_keys) == 3
    assert queue.deleted == ["r0", "r1", "r2"]


def test_data_landing_while_a_training_runs_is_kept_for_the_next_one() -> None:
    # The running training may have read the data before it landed: the messages stay, and
    # SQS hands them out again after their visibility timeout.
    waiting: tuple[Outcome, ...] = ("already-running", "already-created")
    for outcome in waiting:
        queue = RecordingQueue([_event("datasets/iris/new.csv")])
        DatasetEventConsumer(queue, "url", PREFIX, RecordingLauncher(outcome)).poll_once(0)
        assert queue.deleted == [], outcome


def test_messages_that_change_no_data_are_deleted_without_a_launch() -> None:
    queue = RecordingQueue([json.dumps({"Event": "s3:TestEvent"}), _event("datasets/x/a.csv")])
    launcher = RecordingLauncher("created")
    result = DatasetEventConsumer(queue, "url", PREFIX, launcher).poll_once(0)
    assert result.launch is None and launcher.reasons == []
    assert queue.deleted == ["r0", "r1"]


def test_a_failed_poll_is_retried_and_never_ends_the_watch() -> None:
    import threading

    from app.trigger.dataset_events import consume_forever

    stop = threading.Event()
    calls: list[str] = []

    class Flaky:
        def poll_once(self) -> None:
            calls.append("poll")
            if len(calls) == 1:
                raise ConnectionError("queue unreachable")
            stop.set()

    consume_forever(Flaky(), stop, backoff_seconds=0)  # type: ignore[arg-type]
    assert calls == ["poll", "poll"]
