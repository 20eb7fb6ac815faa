"""Plain names for a model's layers, for the layer table and the layer pickers.

``encoder.1.0`` (Conv2d) -> "encoder stage 2, layer 1: convolution"; ``bottleneck`` (a block of several layers)
-> "bottleneck: whole block (output of its last layer)"; a module used several times (GapFCN's one
pooling module) is numbered per use: "max-pool, use 2 of 3".
"""

from __future__ import annotations

from torch import nn

KINDS = {
    "Conv1d": "convolution", "Conv2d": "convolution", "Conv3d": "convolution", "Linear": "linear layer",
    "BatchNorm1d": "batch norm", "BatchNorm2d": "batch norm", "BatchNorm3d": "batch norm",
    "ReLU": "ReLU", "LeakyReLU": "leaky ReLU", "MaxPool2d": "max-pool", "MaxPool3d": "max-pool",
    "MaxUnpool2d": "max-unpool (puts values back where the pool found them)", "MaxUnpool3d": "max-unpool",
    "AdaptiveAvgPool2d": "global average pool", "AdaptiveAvgPool3d": "global average pool",
    "Upsample": "upsampling", "ConvTranspose2d": "transposed convolution", "Dropout": "dropout",
}
BLOCKS = {"cam_head": "CAM head (image-level class scores from the pooled features)",
          "fuse": "fuse (features joined with their global average)", "classifier": "pixel classifier",
          "gap": "global average pool", "pool": "", "unpool": "", "features": "features", "head": "head"}


def block_words(name: str) -> str:
    """'encoder.1' -> 'encoder stage 2'; 'features.3' -> 'features layer 4'; other parts kept."""
    words: list[str] = []
    for part in name.split("."):
        if part.isdigit() and words:
            words[-1] += f" {'stage' if words[-1] in ('encoder', 'decoder') else 'layer'} {int(part) + 1}"
        else:
            words.append(BLOCKS.get(part, part))
    return " · ".join(w for w in words if w)


def plain_name(name: str, kind: str, use: int = 1, uses: int = 1) -> str:
    """A row of the layer table in words: its block, what kind of layer it is, and which use of it."""
    parent, _, last = name.rpartition(".")
    what = KINDS.get(kind, kind)
    if last.isdigit() and parent:
        text = f"{block_words(parent)}, layer {int(last) + 1}: {what}"
    elif last in BLOCKS and BLOCKS[last]:
        text = BLOCKS[last]
    else:
        text = f"{block_words(name) + ': ' if block_words(name) and last not in ('pool', 'unpool') else ''}{what}"
    return text + (f", use {use} of {uses}" if uses > 1 else "")


def layer_label(model: nn.Module, name: str) -> str:
    """A layer picker's option: the dotted name and, in words, what its output is."""
    module = model.get_submodule(name)
    children = list(module.children())
    if children:
        last = type(children[-1]).__name__
        return f"{name} — whole block: {len(children)} layers, output of its {KINDS.get(last, last)}"
    return f"{name} — {KINDS.get(type(module).__name__, type(module).__name__)}"
