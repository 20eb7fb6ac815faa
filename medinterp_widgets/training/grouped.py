"""Train K small classifiers at once as one ``GroupedVGG`` (each with its own seed, data order and LR).

    members = [Member(seed=s, lr=lr) for s, lr in ...]
    results = train_group(make_model, members, train, val, loss=HeatmapLoss.thesis(), epochs=10)
    results[k].state      # model k's best-val-accuracy weights, loadable into make_model(seed)

Member k: weights drawn by ``make_model(seed_k)``, its own shuffling (``torch.Generator`` seeded with
seed_k), Adam with its own learning rate (``StackedAdam``). One step feeds model k its own batch as
channel block k of the grouped input. Model k's trajectory equals training ``make_model(seed_k)``
alone with ``torch.optim.Adam`` on the same batches (tests/training/test_grouped.py), as long as
dropout is 0 (dropout masks are drawn for the whole group, from the global RNG seeded with the first
member's seed, so a run repeats exactly; the caller's RNG state is restored afterwards). Per epoch every
member is scored on the whole validation set; its best state (highest accuracy, the later epoch on ties)
is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol, Sequence, cast

import torch
from torch import nn

from medinterp_widgets.models.grouped import GroupedVGG
from medinterp_widgets.models.vgg import VGGClassifier

EVAL_BATCH = 64


@dataclass(frozen=True)
class Member:
    """One network of a group: ``seed`` (weights and data order), learning rate, and the indices of the
    training items it may see (None: all; e.g. one cross-validation fold's training patients)."""

    seed: int
    lr: float
    subset: tuple[int, ...] | None = None


@dataclass
class MemberResult:
    """Best validation accuracy, its epoch (1-based), the optimisation steps done by then, the per-epoch
    history and the best weights (``state``: of that epoch, or of the last one with ``keep="last"``)."""

    member: Member
    best_accuracy: float = -1.0
    best_epoch: int = 0
    step: int = 0
    history: list[float] = field(default_factory=list)
    state: dict = field(default_factory=dict, repr=False)


@dataclass
class ImageSet:
    """Images (N, C, H, W), labels (N,), allowed-region masks (N, H, W) or None."""

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None = None


class StackedAdam(torch.optim.Optimizer):
    """Adam (torch.optim.Adam's update, no weight decay) with one learning rate per model.

    Every parameter holds the K models along its leading rows (``p.view(K, -1)`` row k = model k), as
    in GroupedVGG. m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr_k / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    """

    def __init__(self, params, lrs: Sequence[float], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.lrs = torch.as_tensor(list(lrs), dtype=torch.float32)
        super().__init__(params, dict(betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denominator = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(group["eps"])
                step_size = (self.lrs.to(p.device) / (1 - beta1**t)).view(-1, 1)  # (K, 1)
                p.sub_(((m / denominator).view(step_size.shape[0], -1) * step_size).view_as(p))


def stack_batch(split: ImageSet, index: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Index (K, B) -> grouped x (B, K * C, H, W), y (B, K), masks (B, K, H, W) or None."""
    k, b = index.shape
    x = split.images[index]  # (K, B, C, H, W)
    x = x.transpose(0, 1).reshape(b, -1, *x.shape[3:])  # (B, K * C, H, W)
    y = split.labels[index].T  # (B, K)
    masks = None if split.masks is None else split.masks[index].transpose(0, 1)  # (B, K, H, W)
    return x.to(device), y.to(device), None if masks is None else masks.to(device).float()


@torch.no_grad()
def group_accuracy(model: GroupedVGG, split: ImageSet, device) -> torch.Tensor:
    """Accuracy of each model on the whole split (every model sees every image): (K,)."""
    model.eval()
    correct = torch.zeros(model.n_models)
    for start in range(0, len(split.labels), EVAL_BATCH):
        x = split.images[start:start + EVAL_BATCH].to(device)  # (b, C, H, W)
        logits = model(x.repeat(1, model.n_models, 1, 1))  # (b, K, n)
        truth = split.labels[start:start + EVAL_BATCH].to(device)[:, None]  # (b, 1)
        correct += (logits.argmax(-1) == truth).sum(0).float().cpu()
    return correct / max(1, len(split.labels))


def _epoch_orders(members: Sequence[Member], n: int, generators: list[torch.Generator],
                  batch_size: int) -> torch.Tensor:
    """(K, steps * batch_size) item indices of one epoch: each member's shuffled subset, cycled up to the
    longest member's whole batches (steps = max_k floor(n_k / batch_size), drop_last)."""
    subsets = [torch.arange(n) if m.subset is None else torch.as_tensor(m.subset, dtype=torch.long) for m in members]
    steps = max(len(s) // batch_size for s in subsets)
    if steps == 0:
        raise ValueError(f"train_group: every member has fewer than batch_size={batch_size} training items")
    orders = []
    for subset, generator in zip(subsets, generators):
        order = torch.cat([subset[torch.randperm(len(subset), generator=generator)]
                           for _ in range(-(-steps * batch_size // len(subset)))])
        orders.append(order[:steps * batch_size])
    return torch.stack(orders)


def train_group(make_model: Callable[[int], nn.Module], members: Sequence[Member], train: ImageSet,
                val: ImageSet | None, *,
                loss, epochs: int, batch_size: int, device=None, max_steps: int | None = None,
                augment: Callable | None = None, keep: str = "best",
                auxiliary: Callable[[GroupedVGG], "Auxiliary"] | None = None) -> list[MemberResult]:
    """Train every member as one grouped network; returns each member's best state (module docstring).

    loss: a HeatmapLoss (its classification term alone when ``loss.weight == 0``, no maps computed).
    val: scored after every epoch (every member on all of it); None: not scored, the last state is kept.
    augment: ``augment(x, masks, generator) -> (x, masks)`` on each grouped batch, or None.
    keep: "best" (the best-val-accuracy state, later epoch on ties) or "last" (the last epoch's state).
    auxiliary: builds a training-only term on the grouped network (``Auxiliary``); its parameters join
    the optimizer, the batch masks reach the loss through its ``allowed_region`` and its ``penalty`` is
    added to the loss; closed at the end. None: the masks are the loss's allowed region as they are.
    """
    if keep not in ("best", "last"):
        raise ValueError(f"train_group keep: expected 'best' or 'last', got {keep!r}")
    device = torch.device(device or "cpu")
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(members[0].seed)  # dropout masks: drawn from the global RNG, seeded; the caller's is kept
        return _fit_group(make_model, members, train, val, loss=loss, epochs=epochs, batch_size=batch_size,
                          device=device, max_steps=max_steps, augment=augment, keep=keep, auxiliary=auxiliary)


def _fit_group(make_model: Callable[[int], nn.Module], members: Sequence[Member], train: ImageSet,
               val: ImageSet | None, *, loss, epochs: int, batch_size: int, device: torch.device,
               max_steps: int | None, augment: Callable | None, keep: str,
               auxiliary: Callable[[GroupedVGG], "Auxiliary"] | None) -> list[MemberResult]:
    """``train_group``'s loop, under a seeded global RNG."""
    model = GroupedVGG([cast(VGGClassifier, make_model(m.seed)) for m in members]).to(device)
    extra = auxiliary(model) if auxiliary is not None else None
    optimizer = StackedAdam([*model.parameters(), *(extra.parameters() if extra else [])], [m.lr for m in members])
    generators = [torch.Generator().manual_seed(m.seed) for m in members]  # each member's data order
    augment_rng = torch.Generator().manual_seed(members[0].seed)
    results = [MemberResult(m) for m in members]
    n, step = len(train.labels), 0
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            orders = _epoch_orders(members, n, generators, batch_size)  # (K, steps * B)
            for start in range(0, orders.shape[1], batch_size):
                x, y, masks = stack_batch(train, orders[:, start:start + batch_size], device)
                if augment is not None:
                    x, masks = augment(x, masks, augment_rng)
                optimizer.zero_grad(set_to_none=True)
                if loss.weight == 0:
                    total = loss.classification_loss(model(x), y).sum()
                else:
                    total = loss(model, x, y, extra.allowed_region(masks) if extra else masks).total
                if extra is not None:
                    total = total + extra.penalty(masks)
                total.backward()
                optimizer.step()
                step += 1
                if max_steps is not None and step >= max_steps:
                    break
            accuracy = torch.full((len(members),), float("nan")) if val is None else group_accuracy(model, val, device)
            _record_epoch(model, results, accuracy, epoch, step, keep == "last" or val is None)
            if max_steps is not None and step >= max_steps:
                break
    finally:
        if extra is not None:
            extra.close()
    return results


class Auxiliary(Protocol):
    """A training-only term of ``train_group`` (e.g. a segmentation head on the group's activations)."""

    def parameters(self) -> Iterable[nn.Parameter]: ...

    def allowed_region(self, masks: torch.Tensor | None) -> torch.Tensor | None:
        """The heatmap loss's allowed region (B, K, H, W) from the batch masks."""
        ...

    def penalty(self, masks: torch.Tensor | None) -> torch.Tensor:
        """A scalar added to the loss of the forward pass just run."""
        ...

    def close(self) -> None:
        """Release what the term attached to the model (hooks)."""
        ...


def _record_epoch(model: GroupedVGG, results: list[MemberResult], accuracy: torch.Tensor, epoch: int, step: int,
                  always: bool) -> None:
    for k, result in enumerate(results):
        value = float(accuracy[k])
        result.history.append(value)
        improved = value >= result.best_accuracy  # ties: the later epoch (never true for nan)
        if improved:
            result.best_accuracy, result.best_epoch = value, epoch
        if improved or always:
            result.step = step
            result.state = {name: t.detach().cpu().clone() for name, t in model.model(k).state_dict().items()}
