"""AlexNetClassifier for the COVID-19 CT paper: 5 conv + 3 FC (dropout), torchvision-compatible names.

Module names follow the common AlexNet layout (features.0/3/6/8/10 convs, classifier.1/4/6 linears)
so a user's locally saved AlexNet state dict loads with ``from_local_weights``; nothing is downloaded.
``width`` scales the conv channels (64, 192, 384, 256, 256 at width=64, torchvision's layout), or
``channels`` names all five: ``PAPER_CHANNELS`` = (96, 256, 384, 384, 256) is the original AlexNet
(Krizhevsky et al. 2012) that Wan et al. modify: 96 first-layer 11 x 11 filters, pool5 256 x 6 x 6 = 9216-d.
``hidden`` is the FC size.
Inputs should be at least 63 x 63 pixels (224 x 224 in the paper). ``cam_layer``: the last conv's ReLU.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch
from torch import nn

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.limits import check_torch_file

from .blocks import check_input

_CONV_MULTIPLIERS = (1.0, 3.0, 6.0, 4.0, 4.0)  # x width/64 * 64 -> 64, 192, 384, 256, 256
PAPER_CHANNELS = (96, 256, 384, 384, 256)
_CONV_NAMES = ("features.0", "features.3", "features.6", "features.8", "features.10")


class AlexNetClassifier(nn.Module):
    """AlexNet (B, C, H, W) -> logits (B, n_classes)."""

    cam_layer_name = "features.11"

    def __init__(self, in_channels: int = 3, n_classes: int = 2, width: int = 64, hidden: int = 4096,
                 dropout: float = 0.5, channels: tuple[int, ...] | list[int] | None = None):
        super().__init__()
        if channels is not None and (len(channels) != 5 or min(channels) < 1):
            raise ValueError(f"AlexNetClassifier: channels needs five positive conv widths, got {channels!r}")
        self.init_kwargs: dict[str, Any] = dict(in_channels=in_channels, n_classes=n_classes, width=width,
                                                hidden=hidden, dropout=dropout)
        if channels is not None:
            self.init_kwargs["channels"] = [int(c) for c in channels]
        self.in_channels = in_channels
        c1, c2, c3, c4, c5 = channels if channels is not None else (int(m * width) for m in _CONV_MULTIPLIERS)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * 36, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    @property
    def cam_layer(self) -> nn.Module:
        """The ReLU after the fifth conv (default Grad-CAM layer, 13 x 13 at 224 x 224 input)."""
        return self.get_submodule(self.cam_layer_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, 2, "AlexNetClassifier")
        x = self.avgpool(self.features(x))  # (B, c5, 6, 6)
        return self.classifier(torch.flatten(x, 1))  # (B, c5 * 36) -> (B, n_classes)

    @classmethod
    def from_local_weights(cls, path: str | os.PathLike, in_channels: int = 1, n_classes: int = 2,
                           **kwargs) -> "AlexNetClassifier":
        """Build a model from a local state dict file; never downloads.

        ``channels`` (the five conv widths) and ``hidden`` are read from the tensors' shapes unless given.
        A 3-channel first conv is summed over RGB for ``in_channels=1`` (a 1-channel one is repeated / 3
        for 3 channels).
        A final layer whose class count differs from ``n_classes`` is left freshly initialised (warns).
        """
        state = _read_state_dict(path)
        try:
            kwargs.setdefault("hidden", int(state["classifier.1.weight"].shape[0]))
            channels = [int(state[f"{name}.weight"].shape[0]) for name in _CONV_NAMES]
        except KeyError as missing:
            raise DataFormatError(path, f"state dict has no {missing} entry; expected an AlexNet state dict") from None
        if "width" in kwargs:  # a caller's width scales the torchvision layout instead
            kwargs.setdefault("channels", None)
        elif channels == [int(m * channels[0]) for m in _CONV_MULTIPLIERS]:
            kwargs["width"] = channels[0]  # torchvision layout: keep describing it by its width
        else:
            kwargs.setdefault("channels", channels)
        model = cls(in_channels=in_channels, n_classes=n_classes, **kwargs)
        state["features.0.weight"] = _adapt_first_conv(state["features.0.weight"], in_channels, path)
        own = model.state_dict()
        _keep_fresh_head(state, own, path)
        _check_keys_and_shapes(state, own, path)
        model.load_state_dict(state)
        return model


def _read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a state dict (also inside a {'state_dict': ...} / {'model': ...} checkpoint), strip 'module.'."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such weights file")
    check_torch_file(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling problem is a format problem
        raise DataFormatError(path, f"not a torch state dict file ({error})") from error
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise DataFormatError(path, f"expected a dict of tensors, got {type(loaded).__name__}")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def _adapt_first_conv(weight: torch.Tensor, in_channels: int, path) -> torch.Tensor:
    """(out, c, 11, 11) -> (out, in_channels, 11, 11): sum RGB for 1 channel, repeat / 3 for 3."""
    stored = weight.shape[1]
    if stored == in_channels:
        return weight
    if stored == 3 and in_channels == 1:
        return weight.sum(dim=1, keepdim=True)  # (out, 1, 11, 11)
    if stored == 1 and in_channels == 3:
        return weight.repeat(1, 3, 1, 1) / 3.0  # (out, 3, 11, 11)
    raise DataFormatError(path, f"features.0.weight has {stored} input channels; expected {in_channels} (or 3)")


def _keep_fresh_head(state: dict, own: dict, path) -> None:
    """Replace a final layer of another class count by the model's fresh one (warns); edits ``state``."""
    keys = ("classifier.6.weight", "classifier.6.bias")
    if all(key in state and state[key].shape == own[key].shape for key in keys) or "classifier.6.weight" not in state:
        return
    warnings.warn(f"{path}: classifier.6 has {state['classifier.6.weight'].shape[0]} classes, model has "
                  f"{own['classifier.6.weight'].shape[0]}; the final layer stays freshly initialised", stacklevel=3)
    for key in keys:
        state[key] = own[key]


def _check_keys_and_shapes(state: dict, own: dict, path) -> None:
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise DataFormatError(path, f"state dict keys differ from AlexNet: missing {missing[:5]}, "
                                    f"unexpected {unexpected[:5]}")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise DataFormatError(path, f"{key} has shape {tuple(tensor.shape)}; expected {tuple(own[key].shape)}")
