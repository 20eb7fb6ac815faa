"""Models built from scratch (no torchvision): GapFCN, UNet, VGGClassifier, AlexNetClassifier, SmallResNet.

Every model exposes ``cam_layer`` (module) and ``cam_layer_name`` (dotted name for
``model.get_submodule``): the default layer for CAM / Grad-CAM / HiResCAM. GapFCN also has
``cam_head`` (linear on GAP(cam_layer output)) so CAM_c = sum_k cam_head.weight[c, k] * A_k.
"""

from .alexnet import AlexNetClassifier
from .gap_fcn import GapFCN
from .registry import MODELS, build_model, model_spec
from .resnet import SmallResNet
from .summary import LayerRow, format_layer_table, layer_table, parameter_count, size_mb
from .unet import UNet
from .vgg import VGGClassifier

__all__ = [
    "AlexNetClassifier", "GapFCN", "LayerRow", "MODELS", "SmallResNet", "UNet", "VGGClassifier", "build_model",
    "format_layer_table", "layer_table", "model_spec", "parameter_count", "size_mb",
]
