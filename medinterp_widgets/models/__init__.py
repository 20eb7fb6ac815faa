"""Models built from scratch (no torchvision): GapFCN, UNet, VGGClassifier, AlexNetClassifier, SmallResNet.

Every model exposes ``cam_layer`` (module) and ``cam_layer_name`` (dotted name for
``model.get_submodule``): the default layer for CAM / Grad-CAM / HiResCAM. GapFCN also has
``cam_head`` (linear on GAP(cam_layer output)) so CAM_c = sum_k cam_head.weight[c, k] * A_k.
Checkpoints find their model class only through ``registry`` (``register_model``, ``trust_model_module``).
"""

from .alexnet import AlexNetClassifier
from .gap_fcn import GapFCN
from .modes import eval_mode
from .registry import (
    MODELS,
    UnknownModelError,
    build_model,
    class_path,
    model_class,
    model_spec,
    register_model,
    trust_model_module,
)
from .resnet import SmallResNet
from .summary import LayerRow, format_layer_table, layer_table, parameter_count, size_mb
from .unet import UNet
from .vgg import VGGClassifier

__all__ = [
    "AlexNetClassifier", "GapFCN", "LayerRow", "MODELS", "SmallResNet", "UNet", "UnknownModelError", "VGGClassifier",
    "build_model", "class_path", "eval_mode", "format_layer_table", "layer_table", "model_class", "model_spec",
    "parameter_count",
    "register_model", "size_mb", "trust_model_module",
]
