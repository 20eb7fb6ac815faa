"""Pick the torch device: CUDA when present, else Apple MPS, else CPU; `--device` overrides."""

from __future__ import annotations

import torch


def resolve_device(requested: str | torch.device | None = None) -> torch.device:
    """Return ``requested`` as a torch.device, or the best available one when it is None/'auto'."""
    if requested is not None and str(requested) != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"--device {requested} asked for CUDA, but torch.cuda.is_available() is False")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def tune_for_speed(device: torch.device) -> None:
    """Process-wide speed settings for long runs on CUDA (a no-op elsewhere); call once from a command.

    cudnn.benchmark: each run feeds fixed-size batches, so cuDNN's autotuned convolution algorithms pay
    off after the first step. TF32 matmuls / convolutions on Ampere and newer (float32 storage, 10-bit
    mantissa products) speed the float32 runs (the heatmap-loss runs stay in float32, see Trainer.amp).
    """
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")
