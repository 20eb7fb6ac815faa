"""Grouped training: K models as one GroupedVGG equal the same models trained alone (golden test)."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.models import VGGClassifier
from medinterp_widgets.models.grouped import GroupedVGG
from medinterp_widgets.training.grouped import ImageSet, Member, StackedAdam, stack_batch, train_group
from medinterp_widgets.training.heatmap_loss import HeatmapLoss


def _make(seed: int) -> VGGClassifier:
    torch.manual_seed(seed)
    return VGGClassifier(in_channels=1, n_classes=3, width=2, cfg=[1, "M", 2], head="fc", hidden=6, fc_pool=2,
                         dropout=0.0)


def _data(n: int = 24, size: int = 12, seed: int = 0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, size, size, generator=g)
    labels = torch.randint(0, 3, (n,), generator=g)
    masks = torch.zeros(n, size, size)
    masks[:, 3:9, 3:9] = 1
    images[labels == 1, :, 4:8, 4:8] += 1.0
    return ImageSet(images, labels, masks)


def test_grouped_forward_and_split_match_the_members():
    models = [_make(s) for s in (1, 2, 3)]
    group = GroupedVGG(models).eval()
    x = torch.rand(4, 3, 12, 12)
    logits = group(x)  # (4, 3, n)
    for k, model in enumerate(models):
        torch.testing.assert_close(logits[:, k], model.eval()(x[:, k:k + 1]))
        torch.testing.assert_close(group.model(k).eval()(x[:, k:k + 1]), logits[:, k])


def test_stack_batch_gives_each_model_its_own_items():
    split = _data()
    index = torch.tensor([[0, 1], [5, 6], [7, 8]])  # (K=3, B=2)
    x, y, masks = stack_batch(split, index, "cpu")
    assert x.shape == (2, 3, 12, 12) and y.shape == (2, 3) and masks.shape == (2, 3, 12, 12)
    torch.testing.assert_close(x[1, 2], split.images[8, 0])
    assert int(y[0, 1]) == int(split.labels[5])


def test_stacked_adam_equals_torch_adam_per_model():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(2, 5))  # 2 models, 5 values each
    singles = [torch.nn.Parameter(p.data[k].clone()) for k in range(2)]
    stacked = StackedAdam([p], lrs=[0.1, 0.01])
    alone = [torch.optim.Adam([s], lr=lr) for s, lr in zip(singles, (0.1, 0.01))]
    for _ in range(4):
        grad = torch.randn(2, 5)
        p.grad = grad.clone()
        stacked.step()
        for k in range(2):
            singles[k].grad = grad[k].clone()
            alone[k].step()
    for k in range(2):
        torch.testing.assert_close(p.data[k], singles[k].data)


@pytest.mark.parametrize("loss", [HeatmapLoss.thesis("hirescam", 1.0), HeatmapLoss.normalized("gradcam", 0.5),
                                  HeatmapLoss.thesis("hirescam", 0.0)])
def test_golden_model_trained_in_a_group_equals_it_trained_alone(loss):
    """Member 1 of a group of 3 (own seed, data order, LR) ends with the weights of that model trained
    alone with torch.optim.Adam on the same batches (double backward included)."""
    train, val = _data(), _data(12, seed=1)
    members = [Member(seed=s, lr=lr) for s, lr in ((10, 0.02), (11, 0.005), (12, 0.05))]
    results = train_group(_make, members, train, val, loss=loss, epochs=2, batch_size=8, keep="last")
    member = members[1]
    model = _make(member.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=member.lr)
    order = torch.Generator().manual_seed(member.seed)
    for _ in range(2):
        model.train()
        perm = torch.randperm(len(train.labels), generator=order)
        for start in range(0, 24 - 8 + 1, 8):
            idx = perm[start:start + 8]
            optimizer.zero_grad()
            x, y, mask = train.images[idx], train.labels[idx], train.masks[idx]
            total = loss.classification_loss(model(x), y) if loss.weight == 0 else loss(model, x, y, mask).total
            total.backward()
            optimizer.step()
    final = results[1].state
    for name, value in model.state_dict().items():
        torch.testing.assert_close(final[name], value, atol=2e-5, rtol=1e-4, msg=name)
    model.eval()
    with torch.no_grad():
        accuracy = (model(val.images).argmax(1) == val.labels).float().mean()
    assert results[1].history[-1] == pytest.approx(float(accuracy))


def test_a_group_with_dropout_repeats_exactly_and_keeps_the_callers_rng():
    def make(seed: int) -> VGGClassifier:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return VGGClassifier(in_channels=1, n_classes=3, width=2, cfg=[1, "M", 2], head="fc", hidden=6,
                                 fc_pool=2, dropout=0.5)

    def run(caller_seed: int) -> list[dict]:
        torch.manual_seed(caller_seed)  # whatever state the caller's global RNG is in
        results = train_group(make, [Member(seed=4, lr=0.01), Member(seed=5, lr=0.01)], _data(), None,
                              loss=HeatmapLoss(weight=0.0), epochs=2, batch_size=4)
        return [r.state for r in results]

    first, second = run(0), run(12345)
    for a, b in zip(first, second):
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    train_group(make, [Member(seed=4, lr=0.01)], _data(), None, loss=HeatmapLoss(weight=0.0), epochs=1, batch_size=4)
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is where it was
