"""Shared building blocks: dimension-generic layer lookup and conv (+BN) + ReLU stacks."""

from __future__ import annotations

from torch import nn

_LAYERS = {
    2: {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "pool": nn.MaxPool2d, "unpool": nn.MaxUnpool2d,
        "up": nn.ConvTranspose2d, "gap": nn.AdaptiveAvgPool2d},
    3: {"conv": nn.Conv3d, "bn": nn.BatchNorm3d, "pool": nn.MaxPool3d, "unpool": nn.MaxUnpool3d,
        "up": nn.ConvTranspose3d, "gap": nn.AdaptiveAvgPool3d},
}


def layer(kind: str, dims: int) -> type[nn.Module]:
    """The torch layer class of ``kind`` ('conv', 'bn', 'pool', 'unpool', 'up', 'gap') for 2-D or 3-D."""
    if dims not in _LAYERS:
        raise ValueError(f"dims: expected 2 or 3, got {dims!r}")
    return _LAYERS[dims][kind]


def conv_stack(in_channels: int, out_channels: int, n_convs: int, *, dims: int = 2,
               batch_norm: bool = True) -> nn.Sequential:
    """``n_convs`` x [3x3 conv (padding 1) -> optional BatchNorm -> ReLU]; spatial size unchanged.

    ReLUs are out-of-place so hooks on a stack (attribution, heatmap loss) see unclobbered outputs."""
    modules: list[nn.Module] = []
    channels = in_channels
    for _ in range(n_convs):
        modules.append(layer("conv", dims)(channels, out_channels, kernel_size=3, padding=1, bias=not batch_norm))
        if batch_norm:
            modules.append(layer("bn", dims)(out_channels))
        modules.append(nn.ReLU())
        channels = out_channels
    return nn.Sequential(*modules)


def check_input(x, in_channels: int, dims: int, model_name: str) -> None:
    """Raise ValueError naming the model and the expected (B, C, *spatial) layout when x does not fit."""
    if x.dim() != dims + 2 or x.shape[1] != in_channels:
        spatial = "H, W" if dims == 2 else "D, H, W"
        raise ValueError(f"{model_name}: input of shape {tuple(x.shape)}; expected (B, {in_channels}, {spatial})")
