"""Lesion-evidence pretraining on simulated chest CT (``data.synthetic_covid_ct``), before fine-tuning.

The simulated slices carry ground-glass / consolidation lesions (COVID class) or none but solid nodules
(non-COVID), with their lesion masks. A top-k SmallResNet learns on them both its image label and,
cell by cell, where the lesions are:

    loss = CE(logits, label) + BCE(m_cell, [lesion covers > 10 % of the cell])   over the allowed cells,

m being the evidence map (``SmallResNet.evidence``). No real image or real label is read: this gives the
evidence map a prior ("hazy or dense patches inside the lung are evidence; vessels and nodules are not")
that fine-tuning on UCSD COVID-CT then adapts. Views: the same random affine for image and mask
(``augment.random_affine`` on both channels), intensity jitter on the image.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from medinterp_widgets.data import synthetic_covid_ct

from .augment import jitter_intensity, random_affine
from .pretrain_loop import pretrain_epochs

CELL_COVER = 0.1  # a cell is a lesion cell when the lesion covers more than this share of it


def simulated_set(count: int, size: int, preprocess, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs (N, 1, S, S) through ``preprocess``, labels (N,), lesion masks (N, 1, S, S) float 0/1)."""
    pictures, labels, masks = synthetic_covid_ct(count, seed=seed, size=size)
    inputs = preprocess.apply(torch.from_numpy(pictures)[:, None])
    return inputs, torch.from_numpy(labels), torch.from_numpy((masks > 0).astype(np.float32))[:, None]


def lesion_pretrain(model, inputs: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor, *, epochs: int,
                    batch_size: int = 32, lr: float = 1e-3, seed: int = 0, max_steps: int | None = None,
                    bf16: bool = False) -> list[dict]:
    """Train ``model`` (top-k SmallResNet) in place; one row per epoch: ``{"epoch", "loss", "cpu_seconds"}``."""
    device = next(model.parameters()).device
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    model.train()

    def batch_loss(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        image, lesion = simulated_views(inputs[rows], masks[rows], generator)
        with autocast:
            return lesion_loss(model, image.to(device), labels[rows].to(device), lesion.to(device))

    return pretrain_epochs(model.parameters(), len(inputs), batch_loss, epochs=epochs, batch_size=batch_size, lr=lr,
                           weight_decay=5e-4, seed=seed, max_steps=max_steps)


def simulated_views(inputs: torch.Tensor, masks: torch.Tensor, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """One random geometry for each image and its mask (zoom 0.9-2x, +-15 deg, shift 0.1, mirror), intensity
    jitter on the image: (images (b, 1, S, S), 0/1 masks (b, 1, S, S))."""
    both = random_affine(torch.cat([inputs, masks], dim=1), generator, degrees=15.0, zoom=(0.9, 2.0), shift=0.1)
    image = jitter_intensity(both[:, :1], generator, contrast=0.25, noise=0.05)
    return image, (both[:, 1:] > 0.5).float()


def lesion_loss(model, image: torch.Tensor, labels: torch.Tensor, lesion: torch.Tensor) -> torch.Tensor:
    """Image CE of the top-k logits + BCE of the evidence cells against lesion cells (module docstring)."""
    evidence, allowed = model.evidence(image)  # (b, h * w) each
    side = int(round(evidence.shape[1] ** 0.5))
    cells = F.adaptive_avg_pool2d(lesion, (side, side)).flatten(1) > CELL_COVER  # (b, h * w)
    image_loss = F.cross_entropy(model.pool_evidence(evidence, allowed).float(), labels.long())
    cell_loss = F.binary_cross_entropy_with_logits(evidence.float()[allowed], cells[allowed].float())
    return image_loss + cell_loss
