"""The classifier: input standardisation baked in, then a small MLP."""

# PyTorch's ONNX exporter is partly untyped: its calls stay unchecked here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportMissingTypeStubs=false

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from app.registry import ModelSignature

SIGNATURE = ModelSignature(
    family="mlp", input_tensor="input", output_tensor="logits", output_kind="logits"
)
"""How `export_onnx`'s graph is called and read: the server applies the softmax."""


class Standardize(nn.Module):
    """(x - mean) / std with the training statistics, so the exported model takes raw inputs."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std.clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def build_classifier(
    mean: torch.Tensor, std: torch.Tensor, hidden: int, classes: int
) -> nn.Sequential:
    features = mean.shape[0]
    return nn.Sequential(
        Standardize(mean, std),
        nn.Linear(features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )


def export_onnx(model: nn.Module, features: int) -> bytes:
    """ONNX bytes with a dynamic batch axis: input `input` (N, features), output `logits`.

    Exported into memory: a file, even in a temporary directory, outlives a killed run.
    """
    model = model.cpu().eval()
    buffer = io.BytesIO()
    # The TorchScript exporter (dynamo=False) needs only `onnx`, no onnxscript, and is exact
    # for a plain MLP; its deprecation warning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, features),),
            # The TorchScript exporter writes to file-like objects; only the annotation says
            # str | PathLike.
            buffer,  # pyright: ignore[reportArgumentType]
            dynamo=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
        )
    return buffer.getvalue()
