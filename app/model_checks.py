"""What a model version must satisfy to be registered, promoted or served.

Two checks, both run at registration, before an alias moves, and when a server loads a version:
- the metadata on its own (finite metrics, a drift reference per feature, distinct classes);
- the metadata against the ONNX graph: the graph takes `len(feature_names)` features and
  answers `len(class_names)` logits. A mismatch would otherwise load, report ready, and fail
  every prediction.
"""

# onnxruntime ships no type information: its calls stay unchecked here, not everywhere.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportMissingTypeStubs=false

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from app.errors import InvalidModelError

if TYPE_CHECKING:
    from app.registry import ModelMetadata

INPUT = "input"
OUTPUT = "logits"


def metadata_problems(meta: ModelMetadata) -> list[str]:
    """What is wrong with the metadata on its own; empty when nothing is."""
    problems: list[str] = []
    bad = {name: value for name, value in meta.metrics.items() if not math.isfinite(value)}
    if bad:
        listed = ", ".join(f"{name}={value}" for name, value in bad.items())
        problems.append(f"metrics must be finite numbers, got {listed} (did training diverge?)")
    if not meta.feature_names:
        problems.append("feature_names is empty")
    if not meta.class_names:
        problems.append("class_names is empty")
    elif len(set(meta.class_names)) != len(meta.class_names):
        problems.append(f"class_names {meta.class_names} has duplicates")
    if list(meta.reference) != meta.feature_names:
        problems.append(
            f"reference covers {list(meta.reference)}, not feature_names {meta.feature_names} "
            "in that order"
        )
    for name, ref in meta.reference.items():
        if len(ref.fractions) != len(ref.edges) + 1:
            problems.append(
                f"reference[{name!r}] has {len(ref.edges)} edges and {len(ref.fractions)} "
                "fractions; it needs one fraction more than edges"
            )
    return problems


def check_metadata(meta: ModelMetadata, where: str, fix: str) -> None:
    """InvalidModelError "<where>: <each problem>; <fix>", where names the object or version
    and fix says what the caller did instead (e.g. "nothing was registered")."""
    problems = metadata_problems(meta)
    if problems:
        raise InvalidModelError(f"{where}: {'; '.join(problems)}; {fix}")


def open_session(
    artifact: bytes, meta: ModelMetadata, where: str, fix: str
) -> ort.InferenceSession:
    """The artifact's inference session, once its graph is shown to answer the metadata:
    one row of `len(feature_names)` zeros in, `len(class_names)` finite logits out.
    InvalidModelError as `check_metadata` otherwise."""
    check_metadata(meta, where, fix)
    options = ort.SessionOptions()
    # One thread per inference: requests are tiny, and the event loop is the parallelism.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        raise InvalidModelError(
            f"{where}: onnxruntime cannot load model.onnx ({_first_line(exc)}); {fix}"
        ) from None
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    if INPUT not in inputs or OUTPUT not in outputs:
        raise InvalidModelError(
            f"{where}: the graph has inputs {sorted(inputs)} and outputs {outputs}; serving "
            f"needs input {INPUT!r} and output {OUTPUT!r}; {fix}"
        )
    features, classes = len(meta.feature_names), len(meta.class_names)
    declared = inputs[INPUT]
    if len(declared) != 2 or (isinstance(declared[1], int) and declared[1] != features):
        raise InvalidModelError(
            f"{where}: the graph's input has shape {declared}, but metadata lists {features} "
            f"features ({', '.join(meta.feature_names)}); {fix}"
        )
    try:
        logits = np.asarray(
            session.run([OUTPUT], {INPUT: np.zeros((1, features), dtype=np.float32)})[0]
        )
    except Exception as exc:
        raise InvalidModelError(
            f"{where}: the graph fails on one row of {features} features ({_first_line(exc)}); "
            f"{fix}"
        ) from None
    if logits.shape != (1, classes):
        raise InvalidModelError(
            f"{where}: the graph answers logits of shape {logits.shape} for one row, but "
            f"metadata lists {classes} classes ({', '.join(meta.class_names)}); {fix}"
        )
    if not np.isfinite(logits).all():
        raise InvalidModelError(f"{where}: the graph answers non-finite logits; {fix}")
    return session


def class_probabilities(session: ort.InferenceSession, rows: np.ndarray) -> np.ndarray:
    """Class probabilities of float32 `rows` (softmax of the graph's logits), (rows, classes):
    what the server answers and what batch scoring writes."""
    logits = np.asarray(session.run([OUTPUT], {INPUT: rows})[0])
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
