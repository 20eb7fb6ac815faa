"""The paper's AlexNet per fold: Table 1's "AlexNet" row, Figs. 4-5 (curves), its pool5 features.

Wan et al. fine-tune a modified AlexNet (96 first-layer 11 x 11 filters, dropout, two outputs) with SGD
+ momentum for 50 epochs and report the epoch that is best on validation. Here it trains from scratch
(no ImageNet weights can be downloaded), so two things keep every fold learning (a from-scratch AlexNet
without normalisation layers otherwise can sit at one class for all 50 epochs): He-normal weights
(``paper_init``: Var(w) = 2 / fan_in keeps the ReLU activations' scale through 8 layers, where torch's
default shrinks them ~2.4x per layer so the logits start at ~0 and SGD barely moves) and a one-epoch
linear LR warmup before a cosine decay. ``stability`` still flags a fold whose reported epoch calls
every validation image one class, or whose training accuracy never beats the majority share.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.models import AlexNetClassifier
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.checkpoints import load_checkpoint
from medinterp_widgets.training.runs import BEST_CHECKPOINT

from . import features
from .augment import AugmentedImages
from .config import Config
from .preprocess import Preprocess

ROLE = "paper AlexNet (baseline row)"


def build_alexnet(config: Config) -> AlexNetClassifier:
    """A fresh 1-channel, 2-class AlexNet with the configured conv widths, He-initialised."""
    model = AlexNetClassifier(in_channels=1, n_classes=2, hidden=config.alexnet_hidden,
                              dropout=config.alexnet_dropout, channels=config.alexnet_channels)
    return paper_init(model)


def paper_init(model: nn.Module) -> nn.Module:
    """He-normal (fan_in, ReLU) weights and zero biases for every conv / linear layer; the output layer
    N(0, 0.01^2) so the first predictions are near 50 / 50. Returns ``model`` (changed in place)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer in layers:
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    nn.init.normal_(layers[-1].weight, std=0.01)
    return model


def preprocess_of(config: Config) -> Preprocess:
    """The paper's input: per-image z-score at ``alexnet_size``."""
    return Preprocess(size=config.alexnet_size, intensity="zscore")


def train_config(config: Config, run_dir: Path, fold: int, n_train: int) -> TrainConfig:
    steps_per_epoch = math.ceil(n_train / config.alexnet_batch_size)
    return TrainConfig(
        epochs=config.alexnet_epochs, batch_size=config.alexnet_batch_size, lr=config.alexnet_lr,
        optimizer="sgd", momentum=config.alexnet_momentum, weight_decay=config.alexnet_weight_decay,
        schedule="cosine", warmup_steps=steps_per_epoch, decay_steps=config.alexnet_epochs * steps_per_epoch,
        seed=config.seed + fold, device=str(resolve_device(config.device)), task="classification", num_classes=2,
        run_dir=str(run_dir), progress=False, max_steps=config.limit_steps, cpu_bf16=config.cpu_bf16,
        best_metric="val/loss",
        extra={"paper": "covid-interp", "role": ROLE, "fold": fold, "preprocess": preprocess_of(config).to_dict(),
               "cam_layer": AlexNetClassifier.cam_layer_name, "cam_threshold": config.cam_threshold})


def train_alexnet_fold(config: Config, images, train_ids: np.ndarray, val_ids: np.ndarray, fold: int,
                       run_dir: Path, callbacks=()) -> dict:
    """Train one fold; the model of its best validation-loss epoch (best.pt), that epoch's rates, curves,
    pool5 features of every image, and the stability check."""
    preprocess = preprocess_of(config)
    labels = images.labels
    model = build_alexnet(config)
    folder = run_dir / f"alexnet-fold{fold}"
    train_items = AugmentedImages(images.images, labels, train_ids, preprocess, strength=config.alexnet_augment,
                                  resolution=config.alexnet_resolution, min_scale=config.augment_min_scale)
    trainer = Trainer(model, train_items,
                      AugmentedImages(images.images, labels, val_ids, preprocess, strength=0.0),
                      train_config(config, folder, fold, len(train_ids)), callbacks=callbacks)
    history = trainer.fit()
    best = load_checkpoint(folder / BEST_CHECKPOINT)
    model.load_state_dict(best["model_state"])
    model.eval()
    epoch = int(best["epoch"])
    reported = history[epoch - 1]
    scores = {name: float(reported["val"][name]) for name in (*features.RATES, "auc")}
    deep = features.deep_features(model, preprocess.apply(images.images), config.feature_layer)  # (N, 9216) pool5
    return {"model": model, "history": history, "best_epoch": epoch, "scores": scores, "deep": deep,
            "checkpoint": folder / BEST_CHECKPOINT, "stability": stability(reported, history[-1], labels[train_ids])}


def stability(reported: dict, last: dict, train_labels: torch.Tensor) -> dict:
    """Is the fold stuck at one class? Stuck when the reported epoch's validation sensitivity or specificity
    is 0 (every image called one class) or the last epoch's training accuracy is within 0.02 of the
    majority share (nothing learnt)."""
    majority = float(max(train_labels.float().mean(), 1 - train_labels.float().mean()))
    one_class = reported["val"]["sensitivity"] == 0 or reported["val"]["specificity"] == 0
    flat = last["train"]["accuracy"] <= majority + 0.02
    reason = "; ".join(text for text, hit in (("validation calls every image one class", one_class),
                                              (f"training accuracy <= majority share {majority:.2f} + 0.02", flat))
                       if hit)
    return {"stuck": bool(one_class or flat), "reason": reason or "learns both classes",
            "train_accuracy_last": float(last["train"]["accuracy"]), "majority_share": majority}
