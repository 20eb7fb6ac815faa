"""The classifier that is explained: a SmallResNet, SimCLR-pretrained once on the unlabelled images, then
fine-tuned per fold (AdamW, warmup + cosine, label smoothing, augmentation), its BatchNorm statistics
re-estimated on the clean training images, and saved as ``final.pt`` with its preprocessing.

Why re-estimate: BatchNorm's running statistics are averaged over *augmented* batches (contrast,
brightness, noise, zoom), which do not match clean images; the mismatch shifts every logit, so a model
with a good AUC called most validation images one class. One pass over the clean training images in
train mode with cumulative averaging (momentum None) gives the statistics of the data it is applied to
("precise BN"). The fold's reported model is the last epoch's (a fixed schedule; no epoch is picked
on the validation images).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.metrics import midpoint_threshold
from medinterp_widgets.models import SmallResNet
from medinterp_widgets.models.modes import eval_mode
from medinterp_widgets.training import TrainConfig, Trainer
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload, plain_data
from medinterp_widgets.training.trainer import cpu_bf16_enabled

from . import synthetic
from .augment import AugmentedImages
from .config import Config
from .evaluate import COVID_CALL, classification_scores, probabilities
from .lesion_guidance import LesionGuidedLoss
from .preprocess import Preprocess
from .ssl import simclr_pretrain
from .texture import FIELD as TEXTURE_FIELD
from .texture import fit_texture_model

FINAL_CHECKPOINT = "final.pt"
ROLE = "explained classifier"


def build_classifier(config: Config) -> SmallResNet:
    return SmallResNet(in_channels=1, n_classes=2, widths=config.widths, blocks=config.blocks, dropout=config.dropout,
                       stem_pool=config.stem_pool, pooling=config.pooling, topk_fraction=config.topk_fraction,
                       lung_gate=config.lung_gate)


def preprocess_of(config: Config) -> Preprocess:
    return Preprocess(size=config.image_size, intensity=config.intensity, lungs=config.lung_focus,
                      test_time=config.test_time)


def pretrain(config: Config, inputs: torch.Tensor, progress=None) -> tuple[dict, list[dict]]:
    """SimCLR on ``inputs`` (N, 1, S, S) once for all folds: (encoder state dict, per-epoch history)."""
    torch.manual_seed(config.seed)
    encoder = build_classifier(config).to(resolve_device(config.device))
    bf16 = cpu_bf16_enabled(next(encoder.parameters()).device, TrainConfig(cpu_bf16=config.cpu_bf16))
    history = simclr_pretrain(encoder, inputs, epochs=config.ssl_epochs, batch_size=config.ssl_batch_size,
                              lr=config.ssl_lr, temperature=config.ssl_temperature, seed=config.seed,
                              max_steps=config.limit_steps, bf16=bf16, progress=progress)
    return {key: value.detach().cpu().clone() for key, value in encoder.state_dict().items()}, history


def pretrain_on_simulated_lesions(config: Config) -> tuple[dict, list[dict]]:
    """``synthetic.lesion_pretrain`` of a fresh classifier on ``lesion_pretrain_images`` simulated slices:
    (state dict, per-epoch history)."""
    torch.manual_seed(config.seed)
    model = build_classifier(config).to(resolve_device(config.device))
    inputs, labels, masks = synthetic.simulated_set(config.lesion_pretrain_images, config.image_size,
                                                    preprocess_of(config), config.seed + 1)
    bf16 = cpu_bf16_enabled(next(model.parameters()).device, TrainConfig(cpu_bf16=config.cpu_bf16))
    history = synthetic.lesion_pretrain(model, inputs, labels, masks, epochs=config.lesion_pretrain_epochs,
                                        batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                                        max_steps=config.limit_steps, bf16=bf16)
    return {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}, history


def recalibrate_batchnorm(model: nn.Module, inputs: torch.Tensor, batch_size: int = 64) -> None:
    """Replace every BatchNorm's running mean / var by the average of their batch values over ``inputs``.

    The model's mode and parameters are kept; only the BN buffers change."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or len(inputs) == 0:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    device = next(model.parameters()).device
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average over the batches below
    model.train()
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            model(inputs[start:start + batch_size].to(device))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    model.train(was_training)


def fine_tune_config(config: Config, run_dir: Path, fold: int, n_train: int, preprocess: Preprocess,
                     name: str) -> TrainConfig:
    steps_per_epoch = max(1, n_train // config.batch_size)  # drop_last: BatchNorm never sees a 1-image batch
    return TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, optimizer="adamw",
        weight_decay=config.weight_decay, schedule="cosine", warmup_steps=steps_per_epoch,
        decay_steps=config.epochs * steps_per_epoch, seed=config.seed + fold,
        device=str(resolve_device(config.device)), task="classification", num_classes=2, run_dir=str(run_dir),
        progress=False, max_steps=config.limit_steps, cpu_bf16=config.cpu_bf16, drop_last=True,
        extra={"paper": "covid-interp", "role": ROLE, "variant": name, "fold": fold,
               "preprocess": preprocess.to_dict(), "cam_layer": config.cam_layer,
               "cam_threshold": config.cam_threshold, "batchnorm": "re-estimated on clean training images",
               "lesion_weight": config.lesion_weight})


def training_loss(config: Config, preprocess: Preprocess, lesions=None):
    """Cross-entropy with label smoothing, or with ``config.lesion_weight`` > 0 and ``lesions`` (a LesionSet
    of MedSeg dev slices) the ``LesionGuidedLoss`` on them at the CAM layer."""
    if config.lesion_weight <= 0 or lesions is None or not len(lesions):
        return nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    return LesionGuidedLoss(preprocess.apply(lesions.images), lesions.masks, weight=config.lesion_weight,
                            count=config.lesion_count, layer=config.cam_layer, dilate=config.lesion_dilate,
                            ce_weight=config.lesion_ce_weight)


def train_classifier_fold(config: Config, images, train_ids: np.ndarray, val_ids: np.ndarray, fold: int,
                          run_dir: Path, *, init_state: dict | None = None, name: str = "final",
                          callbacks=(), lesions=None, texture: np.ndarray | None = None) -> dict:
    """Fine-tune one fold from ``init_state`` (None: from scratch); the last epoch's model after BN
    re-estimation, its decision threshold (``config.decision_rule`` on the clean training images, stored in
    the checkpoint's ``extra.decision_threshold``), its validation rates / AUC / P(COVID), curves and
    ``final.pt``. ``lesions``: MedSeg dev slices for the lesion-guided loss (used when ``config.lesion_weight``
    > 0). ``texture``: ``texture.texture_features`` of all images at ``config.lbp_size`` (one 59-bin LBP
    histogram per radius of ``config.texture_radii`` over ``config.texture_region``); with
    ``config.texture_weight`` > 0 the texture term (``texture.py``) is fitted on the training fold, blended
    into P(COVID) before the threshold and stored in ``extra.texture_model``; ``cnn_scores`` are the CNN
    term's own rates (its own threshold)."""
    preprocess = preprocess_of(config)
    labels = images.labels
    torch.manual_seed(config.seed + fold)
    model = build_classifier(config)
    if init_state is not None:
        model.load_state_dict(init_state)
    folder = run_dir / f"{name}-fold{fold}"
    train = fine_tune_config(config, folder, fold, len(train_ids), preprocess, name)
    train_items = AugmentedImages(images.images, labels, train_ids, preprocess, strength=config.augment,
                                  max_zoom=config.max_zoom, rot90=config.rot90,
                                  resolution=config.augment_resolution, min_scale=config.augment_min_scale)
    trainer = Trainer(model, train_items,
                      AugmentedImages(images.images, labels, val_ids, preprocess, strength=0.0), train,
                      loss=training_loss(config, preprocess, lesions), callbacks=callbacks)
    history = trainer.fit()
    train_inputs = preprocess.apply(images.images[train_ids])
    recalibrate_batchnorm(model, train_inputs)
    model.eval()
    train_labels, val_labels = labels[train_ids].numpy(), labels[val_ids].numpy()
    p_train = probabilities(model, train_inputs, test_time=preprocess.test_time)
    p_val = probabilities(model, preprocess.apply(images.images[val_ids]), test_time=preprocess.test_time)
    cnn_scores = classification_scores(val_labels, p_val, decision_threshold(config, train_labels, p_train))
    extra: dict = {"decision_rule": config.decision_rule}
    if config.texture_weight > 0 and texture is not None:
        term = fit_texture_model(texture[train_ids], train_labels, size=config.lbp_size, points=config.lbp_points,
                                 radii=config.texture_radii, weight=config.texture_weight, c=config.texture_c,
                                 groups=[images.groups[i] for i in train_ids], seed=config.seed,
                                 region=config.texture_region)
        p_train, p_val = term.blend(p_train, texture[train_ids]), term.blend(p_val, texture[val_ids])
        extra[TEXTURE_FIELD] = term.to_dict()
    threshold = decision_threshold(config, train_labels, p_train)
    scores = classification_scores(val_labels, p_val, threshold)
    saved = train.to_dict()
    saved["extra"] = {**saved["extra"], "decision_threshold": threshold, **extra}
    payload = checkpoint_payload(model, epoch=len(history), step=trainer.step, best_value=None,
                                 config=plain_data(saved), metrics=plain_data({"val": scores}))
    path = atomic_save(payload, folder / FINAL_CHECKPOINT)
    return {"model": model, "history": history, "scores": scores, "cnn_scores": cnn_scores, "p_val": p_val,
            "checkpoint": path, "preprocess": preprocess, "cam_layer": config.cam_layer}


def decision_threshold(config: Config, train_labels: np.ndarray, p_train: np.ndarray) -> float:
    """``config.decision_rule`` on the training images' P(COVID): the class-mean midpoint, or 0.5."""
    if config.decision_rule == "train_midpoint":
        return midpoint_threshold(train_labels, p_train, fallback=COVID_CALL)
    return COVID_CALL


def pooled_features(result: dict, images: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    """(N, feature_dim) average-pooled last-stage features (``SmallResNet.embed``) of a trained fold's model
    for (N, 1, S, S) images in 0..1, through its preprocessing; eval mode, no gradients."""
    model, preprocess = result["model"], result["preprocess"]
    device = next(model.parameters()).device
    found = []
    with eval_mode(model):
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                batch = preprocess.apply(images[start:start + batch_size]).to(device)
                found.append(model.embed(batch).float().cpu())
    return torch.cat(found).numpy()
