"""What a model version must satisfy to be registered, promoted or served.

Two checks, both run at registration, before an alias moves, and when a server loads a version:
- the metadata on its own (finite metrics, a drift reference per feature, distinct classes);
- the metadata against the ONNX graph: the signature's input takes `len(feature_names)`
  float32 features and its output answers `len(class_names)` values. A mismatch would
  otherwise load, report ready, and fail every prediction.
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
    from app.registry import ModelMetadata, ModelSignature


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


class ModelSession:
    """A loaded graph called the way its signature says: what the server, batch scoring and
    evaluation score with."""

    def __init__(self, session: ort.InferenceSession, signature: ModelSignature) -> None:
        self._run = session.run
        self._outputs = [signature.output_tensor]
        self._input = signature.input_tensor
        self._softmax = signature.output_kind == "logits"

    def class_probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Class probabilities of float32 `rows`, shape (rows, classes)."""
        answer = np.asarray(self._run(self._outputs, {self._input: rows})[0], dtype=np.float64)
        if not self._softmax:
            return answer
        shifted = np.exp(answer - answer.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)


def open_session(artifact: bytes, meta: ModelMetadata, where: str, fix: str) -> ModelSession:
    """The artifact, loaded, once its graph is shown to answer the metadata: one row of
    `len(feature_names)` zeros into the signature's input, `len(class_names)` finite values
    (probabilities summing to 1, for a graph that answers probabilities) out of its output.
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
    signature = meta.signature
    inputs = {i.name: (i.shape, i.type) for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    if signature.input_tensor not in inputs or signature.output_tensor not in outputs:
        raise InvalidModelError(
            f"{where}: the graph has inputs {sorted(inputs)} and outputs {outputs}; its "
            f"signature names input {signature.input_tensor!r} and output "
            f"{signature.output_tensor!r}; {fix}"
        )
    features, classes = len(meta.feature_names), len(meta.class_names)
    declared, element = inputs[signature.input_tensor]
    if element != "tensor(float)":
        raise InvalidModelError(
            f"{where}: the graph's input {signature.input_tensor!r} takes {element}; serving "
            f"sends float32 rows (tensor(float)); {fix}"
        )
    if len(declared) != 2 or (isinstance(declared[1], int) and declared[1] != features):
        raise InvalidModelError(
            f"{where}: the graph's input has shape {declared}, but metadata lists {features} "
            f"features ({', '.join(meta.feature_names)}); {fix}"
        )
    try:
        answer = np.asarray(
            session.run(
                [signature.output_tensor],
                {signature.input_tensor: np.zeros((1, features), dtype=np.float32)},
            )[0]
        )
    except Exception as exc:
        raise InvalidModelError(
            f"{where}: the graph fails on one row of {features} features ({_first_line(exc)}); "
            f"{fix}"
        ) from None
    if answer.shape != (1, classes):
        raise InvalidModelError(
            f"{where}: the graph answers {signature.output_kind} of shape {answer.shape} for "
            f"one row, but metadata lists {classes} classes ({', '.join(meta.class_names)}); "
            f"{fix}"
        )
    if not np.isfinite(answer).all():
        raise InvalidModelError(f"{where}: the graph answers non-finite values; {fix}")
    if signature.output_kind == "probabilities" and (
        (answer < 0).any() or abs(float(answer.sum()) - 1.0) > 1e-3
    ):
        raise InvalidModelError(
            f"{where}: output {signature.output_tensor!r} is declared as probabilities but "
            f"answers {answer[0].tolist()} (not in [0, 1] summing to 1); declare output_kind "
            f"'logits' if the graph answers scores; {fix}"
        )
    return ModelSession(session, signature)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
