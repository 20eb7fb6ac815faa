"""Trainer: the loss falls, events arrive in order, stop() ends after the current step, monitoring."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.events import (
    CheckpointSaved,
    EpochEnd,
    Evaluation,
    LayerStats,
    RunEnded,
    RunStarted,
    StepEnd,
)
from medinterp_widgets.training.loss_protocol import LossResult
from medinterp_widgets.training.trainer import Trainer


def _config(tmp_path=None, **overrides) -> TrainConfig:
    values = dict(epochs=3, batch_size=4, lr=0.05, progress=False, run_dir=str(tmp_path) if tmp_path else None)
    values.update(overrides)
    return TrainConfig(**values)


def test_loss_falls_on_tiny_segmentation(seg_data, make_seg_model):
    train, val = seg_data
    steps = []
    history = Trainer(make_seg_model(), train, val, _config(epochs=4), callbacks=[steps.append]).fit()
    losses = [e.loss for e in steps if isinstance(e, StepEnd)]
    assert sum(losses[-4:]) / 4 < 0.6 * sum(losses[:4]) / 4
    assert history[-1]["val"]["loss"] < history[0]["train"]["loss"]
    assert set(history[-1]["val"]) >= {"loss", "accuracy", "dice_0", "dice_1", "dice_mean"}


def test_events_arrive_in_order(tmp_path, seg_data, make_seg_model):
    train, val = seg_data
    events = []
    Trainer(make_seg_model(), train, val, _config(tmp_path, epochs=2), callbacks=[events.append]).fit()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunEnded"
    per_epoch = ["StepEnd"] * 4 + ["Evaluation", "Evaluation", "EpochEnd", "CheckpointSaved", "CheckpointSaved"]
    assert kinds[1:-1] == per_epoch * 2
    assert [e.step for e in events if isinstance(e, StepEnd)] == list(range(1, 9))
    assert [e.split for e in events if isinstance(e, Evaluation)] == ["train", "val"] * 2
    assert events[-1].reason == "completed" and events[-1].epochs_completed == 2
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert all(torch.load(e.path, weights_only=True)["epoch"] == e.epoch + 1 for e in saved[-1:])


def test_stop_ends_after_the_current_step(seg_data, make_seg_model):
    train, _ = seg_data
    events = []
    trainer = Trainer(make_seg_model(), train, None, _config(epochs=5))

    def stop_at_step_3(event):
        events.append(event)
        if isinstance(event, StepEnd) and event.step == 3:
            threading.Thread(target=trainer.stop).start()  # from another thread, as a widget button would
            threading.Event().wait(0.05)

    trainer.callbacks.append(stop_at_step_3)
    trainer.fit()
    assert [e.step for e in events if isinstance(e, StepEnd)] == [1, 2, 3]
    assert isinstance(events[-1], RunEnded) and events[-1].reason == "stopped"
    assert not any(isinstance(e, EpochEnd) for e in events)


def test_error_is_reported_then_raised(seg_data, make_seg_model):
    train, _ = seg_data
    events = []

    def explode(event):
        events.append(event)
        if isinstance(event, StepEnd):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Trainer(make_seg_model(), train, None, _config(), callbacks=[explode]).fit()
    assert isinstance(events[-1], RunEnded) and events[-1].reason == "error" and "boom" in events[-1].error


def test_layer_stats_at_interval_and_no_hooks_left(seg_data, make_seg_model):
    train, _ = seg_data
    model = make_seg_model()
    events = []
    Trainer(model, train, None, _config(epochs=1, monitor_every=2), callbacks=[events.append]).fit()
    stats = [e for e in events if isinstance(e, LayerStats)]
    assert [e.step for e in stats] == [2, 4]
    names = [layer.name for layer in stats[0].layers]
    assert names == ["body.0", "body.3"]
    for layer in stats[0].layers:
        assert layer.grad_norm > 0 and layer.weight_std > 0 and not math.isnan(layer.activation_mean)
    assert all(not m._forward_hooks for m in model.modules())


def test_classification_metrics(cls_data, make_classifier):
    train, val = cls_data
    history = Trainer(make_classifier(), train, val, _config(task="classification", epochs=3)).fit()
    val_metrics = history[-1]["val"]
    assert set(val_metrics) >= {"loss", "accuracy", "sensitivity", "specificity", "ppv", "npv", "auc"}
    assert val_metrics["accuracy"] >= 0.75


def test_events_iterator_yields_the_same_events(seg_data, make_seg_model):
    train, val = seg_data
    trainer = Trainer(make_seg_model(), train, val, _config(epochs=1))
    events = list(trainer.events())
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunEnded)
    assert sum(isinstance(e, StepEnd) for e in events) == 4


def test_model_input_loss_gets_the_model_and_the_batch(seg_data, make_seg_model):
    train, _ = seg_data
    seen = {}

    class Seen:
        inputs = "model"

        def compute(self, model, batch):
            seen["model"], seen["shape"] = model, tuple(batch.x.shape)
            logits = model(batch.x)
            return LossResult(torch.nn.functional.cross_entropy(logits, batch.y), logits=logits)

    model = make_seg_model()
    Trainer(model, train, None, _config(epochs=1), loss=Seen()).fit()
    assert seen["model"] is model and seen["shape"] == (4, 1, 12, 12)


def test_lr_staircase_decay(seg_data, make_seg_model):
    train, _ = seg_data
    lrs = []
    config = _config(epochs=1, lr=0.1, decay_rate=0.5, decay_steps=2)
    Trainer(make_seg_model(), train, None, config, callbacks=[lambda e: lrs.append(e.lr) if isinstance(e, StepEnd)
                                                              else None]).fit()
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05])  # lr * 0.5 ** floor((step - 1) / 2)


def test_heatmap_loss_runs_its_own_forward(cls_data):
    pytest.importorskip("medinterp_widgets.attribution.api", reason="needs the attribution engine")
    from medinterp_widgets.models import VGGClassifier
    from medinterp_widgets.training.losses import HeatmapLoss

    images, labels = cls_data[0].tensors
    mask = torch.zeros(len(images), 8, 8)
    mask[:, 2:6, 2:6] = 1
    train = torch.utils.data.TensorDataset(images, labels, mask)
    torch.manual_seed(0)
    model = VGGClassifier(in_channels=1, n_classes=2, width=4, cfg=[1, "M", 2], batch_norm=False, dropout=0.0)
    steps = []
    config = _config(epochs=1, task="classification", lr=0.01)
    Trainer(model, train, None, config, loss=HeatmapLoss(method="gradcam", weight=1.0),
            callbacks=[lambda e: steps.append(e) if isinstance(e, StepEnd) else None]).fit()
    assert len(steps) == 4
    assert all({"classification", "attribution", "accuracy"} <= set(e.metrics) for e in steps)


def test_breaking_out_of_events_stops_the_run(seg_data, make_seg_model):
    train, _ = seg_data
    trainer = Trainer(make_seg_model(), train, None, _config(epochs=50))
    for event in trainer.events():
        if isinstance(event, StepEnd) and event.step == 2:
            break
    # the training thread may run a few more steps before it sees the stop (how many depends on the
    # machine's load), but the run ends long before its 50 epochs x 4 steps and the thread is joined
    assert 2 <= trainer.step < 40 and trainer.epochs_completed < 10
    assert not any(t.name == "medinterp-trainer" and t.is_alive() for t in threading.enumerate())


def test_config_rejects_bad_values_by_name():
    with pytest.raises(ValueError, match="optimizer='rmsprop'") as info:
        TrainConfig(optimizer="rmsprop", epochs=0)
    assert "epochs=0" in str(info.value)
    assert TrainConfig.from_dict({**TrainConfig(lr=0.5).to_dict(), "unknown_future_key": 1}).lr == 0.5


def test_single_process_context_without_torchrun(monkeypatch):
    from medinterp_widgets.training.distributed import DistributedContext

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    context = DistributedContext.from_env()
    assert not context.enabled and context.is_main and context.sampler([1, 2, 3], seed=0) is None
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    context = DistributedContext.from_env()
    assert context.enabled and not context.is_main and context.sampler(list(range(8)), seed=0).num_samples == 2


def test_label_maps_with_a_channel_axis_are_accepted(seg_data, make_seg_model):
    images, labels = seg_data[0].tensors
    train = torch.utils.data.TensorDataset(images, labels[:, None])  # (N, 1, H, W) labels
    history = Trainer(make_seg_model(), train, None, _config(epochs=1)).fit()
    assert "dice_1" in history[0]["train"]


def test_max_steps_cuts_the_run_after_an_evaluated_and_saved_epoch(tmp_path, seg_data, make_seg_model):
    train, val = seg_data  # 4 steps per epoch
    events = []
    trainer = Trainer(make_seg_model(), train, val, _config(tmp_path, epochs=50, max_steps=6),
                      callbacks=[events.append])
    history = trainer.fit()
    assert trainer.step == 6 and len(history) == 2 and set(history[-1]) == {"train", "val"}
    assert torch.load(tmp_path / "last.pt", weights_only=True)["step"] == 6
    assert events[-1].reason == "completed" and events[-1].epochs_completed == 2


def test_amp_only_on_cuda_and_never_with_the_heatmap_loss():
    from medinterp_widgets.training.heatmap_loss import HeatmapLoss
    from medinterp_widgets.training.trainer import amp_enabled

    cuda, config = torch.device("cuda"), TrainConfig()
    assert amp_enabled(cuda, config, torch.nn.CrossEntropyLoss())
    assert not amp_enabled(cuda, config, HeatmapLoss())  # double backward stays float32
    assert not amp_enabled(torch.device("cpu"), config, torch.nn.CrossEntropyLoss())
    assert not amp_enabled(cuda, TrainConfig(amp=False), torch.nn.CrossEntropyLoss())


def test_adamw_cosine_and_cpu_bf16_train_a_classifier(cls_data, make_classifier):
    from medinterp_widgets.training.trainer import cpu_bf16_enabled

    train, val = cls_data
    config = _config(task="classification", epochs=3, optimizer="adamw", schedule="cosine", warmup_steps=2,
                     decay_steps=12, cpu_bf16=True)
    trainer = Trainer(make_classifier(), train, val, config)
    history = trainer.fit()
    assert isinstance(trainer.optimizer, torch.optim.AdamW)
    assert history[-1]["val"]["accuracy"] >= 0.75
    assert not cpu_bf16_enabled(torch.device("cpu"), TrainConfig())  # off unless asked for
    assert not cpu_bf16_enabled(torch.device("cuda"), TrainConfig(cpu_bf16=True))
