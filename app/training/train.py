"""The MLP family: train candidates on one device or many (torchrun), keep the best by
cross-validation.

Selection and the reported accuracy come from stratified k-fold cross-validation: every row
is held out exactly once. A single 20 % split of Iris holds out 30 rows, so one row is 3.3
points of accuracy and the figure depends on which of the few overlapping versicolor/virginica
rows land in it (0.87 to 1.0 across split seeds, for the same model). The chosen candidate is
then trained on every row, and that model is exported.

Under `torchrun --nproc-per-node N -m app train`, WORLD_SIZE>1: each process trains on its
shard of the training rows inside DistributedDataParallel (NCCL on GPUs, Gloo on CPU), which
averages the gradients, so every rank ends each step with the same weights.
"""

# PyTorch's types are partly unknown to the checker: its calls stay unchecked here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportMissingTypeStubs=false

from __future__ import annotations

import time

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from app.dataset import Dataset
from app.training.candidates import (
    Candidate,
    CandidateScore,
    Distributed,
    TrainConfig,
    TrainResult,
    best_score,
    distributed_from_env,
    samples_trained,
    selection_metrics,
    stratified_folds,
)
from app.training.model import build_classifier


def _device(env: Distributed) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", env.local_rank)
    return torch.device("cpu")


def _accuracy_and_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return accuracy, loss


def _train_one(
    candidate: Candidate,
    config: TrainConfig,
    train: tuple[torch.Tensor, torch.Tensor],
    stats: tuple[torch.Tensor, torch.Tensor],
    classes: int,
    env: Distributed,
    device: torch.device,
) -> tuple[nn.Module, list[float]]:
    """The trained model and its loss per epoch."""
    torch.manual_seed(config.seed)
    model = build_classifier(stats[0], stats[1], candidate.hidden, classes).to(device)
    trained: nn.Module = model
    if env.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        trained = DistributedDataParallel(model, device_ids=ids)
    optimizer = torch.optim.Adam(trained.parameters(), lr=candidate.learning_rate)
    # Every rank sees only its shard of the rows; DDP averages the gradients.
    x, y = train[0][env.rank :: env.world_size], train[1][env.rank :: env.world_size]
    # Losses stay on the device until the end: reading each one would synchronise a GPU
    # every epoch.
    losses: list[torch.Tensor] = []
    for _ in range(config.epochs):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(trained(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    history = [float(value) for value in torch.stack(losses).cpu().tolist()]
    return model.eval(), history


def _cross_validate(
    candidate: Candidate,
    config: TrainConfig,
    data: tuple[torch.Tensor, torch.Tensor],
    folds: list[np.ndarray],
    env: Distributed,
    device: torch.device,
) -> CandidateScore:
    """Mean held-out accuracy and loss over the folds, weighted by fold size."""
    x, y = data
    classes = int(y.max().item()) + 1
    correct, loss_sum = 0.0, 0.0
    history = np.zeros(config.epochs)
    for fold in folds:
        held_out = torch.zeros(len(y), dtype=torch.bool)
        held_out[torch.from_numpy(fold)] = True
        held_out = held_out.to(device)
        x_train, y_train = x[~held_out], y[~held_out]
        stats = (x_train.mean(dim=0), x_train.std(dim=0))
        model, losses = _train_one(
            candidate, config, (x_train, y_train), stats, classes, env, device
        )
        accuracy, loss = _accuracy_and_loss(model, x[held_out], y[held_out])
        correct += accuracy * len(fold)
        loss_sum += loss * len(fold)
        history += np.asarray(losses) * (len(y) - len(fold))
    trained_rows = len(y) * (len(folds) - 1)
    return CandidateScore(
        family="mlp",
        candidate=candidate,
        holdout_accuracy=correct / len(y),
        holdout_loss=loss_sum / len(y),
        loss_history=[float(value) for value in history / trained_rows],
    )


def train_candidates(data: Dataset, config: TrainConfig) -> TrainResult:
    """Cross-validate every MLP candidate, then train the best (accuracy, then loss) on all
    rows."""
    env = distributed_from_env()
    device = _device(env)
    if env.world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)
        # Matrices of a few hundred values: intra-op threads only add synchronisation, and
        # their spin-waiting makes training several times slower on a busy machine.
        torch.set_num_threads(1)
    folds = stratified_folds(data.labels, config.folds, config.seed)
    x = torch.from_numpy(data.features).to(device)
    y = torch.from_numpy(data.labels).to(device)

    start = time.perf_counter()
    scores = [_cross_validate(c, config, (x, y), folds, env, device) for c in config.grid]
    best = best_score(scores)
    stats = (x.mean(dim=0), x.std(dim=0))
    model, losses = _train_one(
        best.candidate, config, (x, y), stats, len(data.class_names), env, device
    )
    duration = time.perf_counter() - start
    samples = samples_trained(len(y), config)
    return TrainResult(
        family="mlp",
        model=model,
        candidate=best.candidate,
        metrics=selection_metrics(best, losses[-1], len(y), config.folds),
        scores=scores,
        loss_history=losses,
        samples_per_second=samples / duration if duration > 0 else 0.0,
        duration_seconds=duration,
        device=str(device),
        world_size=env.world_size,
    )
