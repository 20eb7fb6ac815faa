"""Self-supervised pretraining (SimCLR, Chen et al. 2020) of an encoder on unlabelled CT images.

Each batch of n images gives two ``augment.ssl_view`` views; the encoder's pooled features go through a
projection MLP (discarded afterwards) to z, L2-normalised. NT-Xent loss with temperature tau:

    l(i) = -log( exp(z_i . z_j(i) / tau) / sum_{k != i} exp(z_i . z_k / tau) ),  loss = mean over 2n views,

j(i) being the other view of the same image. Labels are never read: every image of the data set can
take part (the classifier's validation images included, see the report's note).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .augment import ssl_view
from .pretrain_loop import pretrain_epochs


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of 2n projections (rows i and i + n are two views of one image)."""
    z = F.normalize(z.float(), dim=1)  # (2n, d)
    n = z.shape[0] // 2
    similarity = z @ z.T / temperature  # (2n, 2n)
    similarity = similarity.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, partner)


def projection_head(features: int, hidden: int = 256, out: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, out))


def simclr_pretrain(encoder: nn.Module, images: torch.Tensor, *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
                    temperature: float = 0.2, seed: int = 0, max_steps: int | None = None, bf16: bool = False,
                    progress=None) -> list[dict]:
    """Train ``encoder`` (needs ``embed(x)`` and ``feature_dim``) in place on ``images`` (N, 1, H, W).

    AdamW (weight decay 1e-4), linear warmup over the first 10 % of steps then cosine decay. Returns one
    row per epoch: ``{"epoch", "loss", "cpu_seconds"}``. ``max_steps`` caps the steps (dry runs).
    """
    device = next(encoder.parameters()).device
    head = projection_head(encoder.feature_dim).to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    encoder.train()

    def batch_loss(rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch = images[rows]  # (b, 1, H, W)
        views = torch.cat([ssl_view(batch, generator), ssl_view(batch, generator)]).to(device)  # (2b, 1, H, W)
        with autocast:
            return nt_xent(head(encoder.embed(views)), temperature)

    return pretrain_epochs([*encoder.parameters(), *head.parameters()], len(images), batch_loss, epochs=epochs,
                           batch_size=min(batch_size, len(images)), lr=lr, weight_decay=1e-4,
                           warmup_epochs=epochs / 10, seed=seed, max_steps=max_steps, progress=progress)
