"""Prediction ids that carry what feedback needs, signed so that any replica can trust them.

  p1.<model_version>.<class_index>.<issued_ms_hex>.<random_hex>.<tag>

The tag is HMAC-SHA256, under the key every replica shares (MLOPS_PREDICTION_ID_KEY_FILE),
over the model name and everything before the tag, truncated to 128 bits (RFC 2104 allows
truncation to half the output). So feedback needs no memory of the prediction: whichever
replica gets it, before or after a restart, checks the tag and reads the version and the
predicted class from the id itself. A client cannot make up an id, change the class it
names, or bring one from another model: the tag would not match. Rotating the key makes the
ids signed with the old one unverifiable.

The unique part makes ids unique (captures and labels are joined by id); the time says when
the prediction was made. It is a random 32-bit prefix drawn per process (again after 2^32
ids) and a counter: unique within the process by construction, and across replicas unless
two draw the same prefix and issue the same count in the same millisecond. It need not be
unpredictable (the tag is what a client cannot forge), so it costs no system call per id, as
drawing 8 random bytes per id did (one getrandom call each: a quarter of a batch's time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
from dataclasses import dataclass

from app.errors import InvalidPredictionIdError

FORMAT = "p1"
TAG_BYTES = 16
MAX_ID_CHARS = 128
"""Longer than any id issued here (about 60 characters for a version of a few digits)."""
_FIX = "send the prediction_id that /v1/predict returned, unchanged"


@dataclass(frozen=True)
class IssuedPrediction:
    """What a verified id says about its prediction."""

    model_version: str
    class_index: int
    issued_at: float
    """Unix time, milliseconds precision."""


class PredictionIds:
    """Issues and verifies the prediction ids of one model under one key."""

    def __init__(self, key: bytes, model_name: str) -> None:
        # The model name is signed but not written into the id: an id of another model
        # (under the same key) fails verification instead of counting against this one.
        self._mac = hmac.new(key, model_name.encode() + b"\n", hashlib.sha256)
        self._new_prefix()

    def _new_prefix(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count()

    def issue(self, model_version: str, class_index: int, at: float) -> str:
        return self.issue_many(model_version, [class_index], at)[0]

    def issue_many(self, model_version: str, class_indices: list[int], at: float) -> list[str]:
        """An id per prediction of one request (one version, one time)."""
        head = f"{FORMAT}.{model_version}."
        stamp = f".{int(at * 1000):x}."
        ids: list[str] = []
        for class_index in class_indices:
            count = next(self._counter)
            if count > 0xFFFFFFFF:
                self._new_prefix()
                count = next(self._counter)
            body = f"{head}{class_index}{stamp}{self._prefix}{count:08x}"
            ids.append(f"{body}.{self._tag(body)}")
        return ids

    def verify(self, prediction_id: str) -> IssuedPrediction:
        """What the id says, or InvalidPredictionIdError when it was not issued under this
        key and model or was altered."""
        body, _, tag = prediction_id.rpartition(".")
        if not body.startswith(f"{FORMAT}.") or not prediction_id.isascii():
            raise InvalidPredictionIdError(
                f"prediction_id {prediction_id[:MAX_ID_CHARS]!r} is not a prediction id of this "
                f"service (they start with {FORMAT!r}); {_FIX}"
            )
        if not hmac.compare_digest(tag.encode(), self._tag(body).encode()):
            raise InvalidPredictionIdError(
                f"prediction_id {prediction_id!r} was not issued by this service or was altered "
                f"(its signature does not match); {_FIX}"
            )
        parts = body.split(".")
        try:
            # The version may itself hold dots: it is everything between the format and the
            # last three fields.
            return IssuedPrediction(
                model_version=".".join(parts[1:-3]),
                class_index=int(parts[-3]),
                issued_at=int(parts[-2], 16) / 1000,
            )
        except (ValueError, IndexError):
            # Signed but unreadable: only an id of another format under the same key.
            raise InvalidPredictionIdError(
                f"prediction_id {prediction_id!r} is signed but not readable; {_FIX}"
            ) from None

    def _tag(self, body: str) -> str:
        mac = self._mac.copy()
        mac.update(body.encode())
        return base64.urlsafe_b64encode(mac.digest()[:TAG_BYTES]).rstrip(b"=").decode()
