import pytest
import torch
from torch import nn

from medinterp_widgets.data import DataFormatError
from medinterp_widgets.data.preprocessing import Preprocessing
from medinterp_widgets.models.test_time import dihedral_softmax, predict_softmax


class PositionBias(nn.Module):
    """Logits = [0, x + b] with a fixed per-pixel bias b: not equivariant, so the 8 readings differ."""

    def __init__(self, bias: torch.Tensor):
        super().__init__()
        self.bias = bias

    def forward(self, x):
        return torch.cat([torch.zeros_like(x), x + self.bias], dim=1)


def test_dihedral_softmax_is_the_mean_of_the_eight_undone_readings():
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])  # (1, 1, 2, 2)
    bias = torch.tensor([[[[4.0, 0.0], [0.0, 0.0]]]])  # only the top-left pixel is pushed up
    # pixel (0, 0): the bias lands on it in 2 of the 8 transforms (identity, transpose) -> logit x + 4
    # there, x elsewhere; every other pixel meets the bias in exactly 2 of 8 too (8 transforms / 4 pixels)
    expected = torch.zeros(2, 2)
    for r in range(2):
        for c in range(2):
            value = x[0, 0, r, c]
            expected[r, c] = (2 * torch.sigmoid(value + 4) + 6 * torch.sigmoid(value)) / 8
    probabilities = dihedral_softmax(PositionBias(bias), x)
    torch.testing.assert_close(probabilities[0, 1], expected)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(1, 2, 2))


def test_an_equivariant_model_reads_the_same_and_none_is_plain_softmax():
    torch.manual_seed(0)
    model = nn.Conv2d(1, 3, 1)  # 1x1 conv: commutes with flips and turns
    x = torch.randn(2, 1, 6, 6)
    plain = torch.softmax(model(x), 1)
    torch.testing.assert_close(dihedral_softmax(model, x), plain)
    torch.testing.assert_close(predict_softmax(model, x, "none"), plain)
    torch.testing.assert_close(predict_softmax(model, x, "dihedral"), plain)
    with pytest.raises(ValueError, match="test-time mode"):
        predict_softmax(model, x, "flips")
    with pytest.raises(ValueError, match="square"):
        dihedral_softmax(model, torch.randn(1, 1, 4, 6))


def test_preprocessing_stores_the_test_time_mode_and_old_checkpoints_read_none():
    spec = Preprocessing(size=32, test_time="dihedral")
    assert Preprocessing.from_dict(spec.to_dict()) == spec
    old = spec.to_dict()
    del old["test_time"]
    assert Preprocessing.from_dict(old).test_time == "none"
    with pytest.raises(ValueError, match="test_time"):
        Preprocessing(test_time="tta")
    with pytest.raises(DataFormatError, match="test_time"):
        Preprocessing.from_dict({**spec.to_dict(), "test_time": "d8"}, source="ck.pt")


class LeftHalfScore(nn.Module):
    """A classifier: logits [0, sum of the left half of the image], so its mirror reads the right half."""

    def forward(self, x):
        left = x[..., : x.shape[-1] // 2].sum(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(left), left], dim=1)  # (B, 2)


def test_mirror_of_a_classifier_is_the_mean_of_the_two_readings_with_nothing_undone():
    x = torch.tensor([[[[1.0, 0.0], [2.0, -1.0]]]])  # left half sums to 3, right half to -1
    expected = (torch.sigmoid(torch.tensor(3.0)) + torch.sigmoid(torch.tensor(-1.0))) / 2
    probabilities = predict_softmax(LeftHalfScore(), x, "mirror")
    assert probabilities.shape == (1, 2)
    torch.testing.assert_close(probabilities[0, 1], expected)
    torch.testing.assert_close(predict_softmax(LeftHalfScore(), torch.ones(1, 1, 2, 6), "mirror"),
                               torch.softmax(LeftHalfScore()(torch.ones(1, 1, 2, 6)), 1))  # non-square is fine


def test_mirror_of_a_map_undoes_the_flip():
    x = torch.tensor([[[[0.0, 1.0, 2.0]]]])  # (1, 1, 1, 3): not square, mirror needs no turns
    bias = torch.tensor([[[[4.0, 0.0, 0.0]]]])
    # the bias meets pixel 0 in the identity reading and pixel 2 in the mirrored one
    logits = torch.tensor([[4.0, 1.0, 2.0], [0.0, 1.0, 6.0]])  # (reading, pixel) after the undo
    expected = torch.sigmoid(logits).mean(0)
    torch.testing.assert_close(predict_softmax(PositionBias(bias), x, "mirror")[0, 1, 0], expected)
