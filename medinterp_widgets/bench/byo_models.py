"""Networks the project did not build, written the way users write them: a ResNet-like and a
DenseNet-like classifier (2-D or 3-D), small enough for fast tests; ``medinterp bench own-models`` and the
bring-your-own-model tests use them. Not registered: a checkpoint of them loads only once the user trusts
this module (``trust_model_module``), as for any user class."""

from __future__ import annotations

import torch
from torch import nn

CONV = {2: nn.Conv2d, 3: nn.Conv3d}
NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
POOL = {2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN + shortcut (a 1x1 conv when the shape changes), then ReLU."""

    def __init__(self, dims: int, cin: int, cout: int, stride: int = 1):
        super().__init__()
        conv, norm = CONV[dims], NORM[dims]
        self.conv1, self.bn1 = conv(cin, cout, 3, stride, 1, bias=False), norm(cout)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = conv(cout, cout, 3, 1, 1, bias=False), norm(cout)
        self.downsample = (nn.Sequential(conv(cin, cout, 1, stride, bias=False), norm(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNetLike(nn.Module):
    """stem -> layer1..layer4 (each two BasicBlocks) -> avgpool -> fc; layer3 and layer4 both end with
    8 channels so a head search by channel count alone would pick layer4.0.downsample.0 for layer3."""

    def __init__(self, dims: int = 2, in_channels: int = 1, classes: int = 3, width: int = 4):
        super().__init__()
        conv, norm = CONV[dims], NORM[dims]
        self.conv1, self.bn1, self.relu = conv(in_channels, width, 3, 1, 1, bias=False), norm(width), nn.ReLU()
        widths = [width, width, 2 * width, 2 * width]
        blocks, cin = [], width
        for i, cout in enumerate(widths):
            stride = 1 if i == 0 else 2
            blocks.append(nn.Sequential(BasicBlock(dims, cin, cout, stride), BasicBlock(dims, cout, cout)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = blocks
        self.avgpool = POOL[dims](1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class DenseLayer(nn.Module):
    """BN-ReLU-conv producing ``growth`` channels, concatenated to its input."""

    def __init__(self, dims: int, cin: int, growth: int):
        super().__init__()
        self.norm, self.relu, self.conv = NORM[dims](cin), nn.ReLU(), CONV[dims](cin, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(self.relu(self.norm(x)))], 1)


class DenseNetLike(nn.Module):
    """features (stem, two dense blocks with a transition, final norm + ReLU) -> GAP -> classifier.
    The last registered conv is a ``growth``-channel conv inside the last dense block."""

    def __init__(self, dims: int = 2, in_channels: int = 1, classes: int = 3, growth: int = 2):
        super().__init__()
        conv = CONV[dims]
        layers = [conv(in_channels, 4, 3, 1, 1, bias=False)]
        channels = 4
        for block in range(2):
            for _ in range(2):
                layers.append(DenseLayer(dims, channels, growth))
                channels += growth
            if block == 0:
                layers += [NORM[dims](channels), nn.ReLU(), conv(channels, channels, 1, bias=False),
                           nn.AvgPool2d(2) if dims == 2 else nn.AvgPool3d(2)]
        layers += [NORM[dims](channels), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.pool = POOL[dims](1)
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class TupleOutput(nn.Module):
    """A model whose forward returns (logits, features): not logits-shaped for any target (bad-input tests)."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2, 3)

    def forward(self, x):
        features = self.conv(x)
        return self.head(features.mean((2, 3))), features


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BN statistics (so maps are not trivially constant), in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator)
                tensor.copy_(values + 0.5 if name.endswith("running_var") else values - 0.5)
    return model.eval()
