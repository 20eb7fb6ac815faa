"""GroupedVGG: K VGGClassifiers of one architecture run as one network (grouped convolutions).

Model k owns channel block k of every layer: conv weights (K * C_out, C_in, 3, 3) with ``groups=K``,
BatchNorm over K * C channels (per-channel statistics = per-model statistics), and a per-model FC
head as batched matrix products (weights (K, out, in)). The input holds one image per model,
x (B, K * C_in, H, W): model k sees channels [k * C_in, (k + 1) * C_in), so every model can have its
own data order. Output logits (B, K, n_classes).

``GroupedVGG.from_models([vgg_0, ..., vgg_{K-1}])`` stacks K models; ``model(k)`` returns model k as
a plain VGGClassifier with the same weights and BatchNorm statistics. Running K small models as one
network keeps the CPU's vector units and the GPU busy where K separate small networks would not
(``medinterp bench heatmap-loss --grouped`` prints the speed-up).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .vgg import CONFIGS, VGGClassifier


def _grouped_features(features: list[nn.Sequential]) -> nn.Sequential:
    """The layers of K ``VGGClassifier.features`` stacks as one grouped stack (same module names)."""
    k = len(features)
    modules: list[nn.Module] = []
    for layers in zip(*(f.children() for f in features)):
        first = layers[0]
        if isinstance(first, nn.Conv2d):
            conv = nn.Conv2d(first.in_channels * k, first.out_channels * k, 3, padding=1, groups=k,
                             bias=first.bias is not None)
            conv.weight.data.copy_(torch.cat([m.weight.data for m in layers]))  # (K * C_out, C_in, 3, 3)
            if conv.bias is not None:
                conv.bias.data.copy_(torch.cat([m.bias.data for m in layers]))
            modules.append(conv)
        elif isinstance(first, nn.BatchNorm2d):
            norm = nn.BatchNorm2d(first.num_features * k, eps=first.eps, momentum=first.momentum)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(norm, name).data.copy_(torch.cat([getattr(m, name).data for m in layers]))
            if norm.num_batches_tracked is not None and first.num_batches_tracked is not None:
                norm.num_batches_tracked.copy_(first.num_batches_tracked)
            modules.append(norm)
        else:  # ReLU, MaxPool2d: channel-wise already
            modules.append(type(first)(**({"kernel_size": 2} if isinstance(first, nn.MaxPool2d) else {})))
    return nn.Sequential(*modules)


def _linear(module: nn.Module) -> nn.Linear:
    if not isinstance(module, nn.Linear):
        raise ValueError(f"GroupedVGG: expected a Linear layer in the fc head, got {type(module).__name__}")
    return module


class GroupedLinear(nn.Module):
    """K independent Linear layers: x (B, K, in) -> (B, K, out); weight (K, out, in), bias (K, out)."""

    def __init__(self, layers: list[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.data for m in layers]).clone())
        self.bias = nn.Parameter(torch.stack([m.bias.data for m in layers]).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bki,koi->bko", x, self.weight) + self.bias  # (B, K, out)


class GroupedVGG(nn.Module):
    """K VGGClassifiers with identical constructor arguments, as one network (module docstring)."""

    def __init__(self, models: list[VGGClassifier]):
        super().__init__()
        if not models:
            raise ValueError("GroupedVGG: expected at least one VGGClassifier")
        kwargs = models[0].init_kwargs
        if any(not isinstance(m, VGGClassifier) or m.init_kwargs != kwargs for m in models):
            raise ValueError("GroupedVGG: every model must be a VGGClassifier built with the same arguments")
        if kwargs["head"] != "fc":
            raise ValueError("GroupedVGG: only the 'fc' head is supported")
        self.n_models = len(models)
        self.model_kwargs: dict[str, Any] = dict(kwargs)
        self.in_channels = kwargs["in_channels"]
        self.features = _grouped_features([m.features for m in models])
        self.cam_layer_name = models[0].cam_layer_name
        self.pool = nn.AdaptiveAvgPool2d(kwargs["fc_pool"])
        self.fc1 = GroupedLinear([_linear(m.classifier[1]) for m in models])
        self.dropout = nn.Dropout(kwargs["dropout"])
        self.fc2 = GroupedLinear([_linear(m.classifier[4]) for m in models])

    @classmethod
    def from_models(cls, models) -> "GroupedVGG":
        return cls(list(models))

    @property
    def channels(self) -> int:
        """Channels of one model at the CAM layer."""
        cfg = self.model_kwargs["cfg"]
        layers = CONFIGS[cfg] if isinstance(cfg, str) else cfg
        return int([m for m in layers if m != "M"][-1]) * self.model_kwargs["width"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.n_models * self.in_channels:
            raise ValueError(f"GroupedVGG: expected input (B, {self.n_models * self.in_channels}, H, W) "
                             f"(K={self.n_models} models x {self.in_channels} channels), got {tuple(x.shape)}")
        a = self.pool(self.features(x))  # (B, K * C, p, p)
        a = a.reshape(a.shape[0], self.n_models, -1)  # (B, K, C * p * p): each model's (C, p, p) flattened
        return self.fc2(self.dropout(torch.relu(self.fc1(a))))  # (B, K, n_classes)

    def model(self, k: int) -> VGGClassifier:
        """Model ``k`` as a stand-alone VGGClassifier (weights and BatchNorm statistics copied)."""
        if not 0 <= k < self.n_models:
            raise IndexError(f"GroupedVGG.model: k={k} outside 0..{self.n_models - 1}")
        single = VGGClassifier(**self.model_kwargs)
        state = {}
        for name, tensor in self.features.state_dict().items():
            if name.endswith("num_batches_tracked"):
                state[f"features.{name}"] = tensor.clone()
            else:
                state[f"features.{name}"] = tensor.chunk(self.n_models)[k].clone()
        for index, layer in ((1, self.fc1), (4, self.fc2)):
            state[f"classifier.{index}.weight"] = layer.weight.data[k].clone()
            state[f"classifier.{index}.bias"] = layer.bias.data[k].clone()
        single.load_state_dict(state)
        return single.train(self.training)
