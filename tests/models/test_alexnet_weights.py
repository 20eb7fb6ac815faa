"""AlexNetClassifier.from_local_weights: reads a state dict from disk, adapts RGB to 1 channel."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.models import AlexNetClassifier


def _save_rgb_alexnet(path, n_classes=2):
    torch.manual_seed(0)
    source = AlexNetClassifier(in_channels=3, n_classes=n_classes, width=4, hidden=16)
    torch.save(source.state_dict(), path)
    return source


def test_rgb_weights_summed_for_one_channel(tmp_path):
    path = tmp_path / "alexnet.pt"
    source = _save_rgb_alexnet(path)
    model = AlexNetClassifier.from_local_weights(path, in_channels=1, n_classes=2)
    assert model.init_kwargs["width"] == 4 and model.init_kwargs["hidden"] == 16
    torch.testing.assert_close(model.features[0].weight, source.features[0].weight.sum(dim=1, keepdim=True))
    # a grey image repeated over RGB gives the same logits as the 1-channel model on the grey image
    grey = torch.rand(2, 1, 64, 64)
    source.eval(), model.eval()
    torch.testing.assert_close(model(grey), source(grey.repeat(1, 3, 1, 1)), rtol=1e-4, atol=1e-5)


def test_checkpoint_wrapper_and_module_prefix(tmp_path):
    path = tmp_path / "ckpt.pt"
    source = AlexNetClassifier(in_channels=3, width=4, hidden=16)
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    model = AlexNetClassifier.from_local_weights(path, in_channels=3)
    torch.testing.assert_close(model.classifier[1].weight, source.classifier[1].weight)


def test_other_class_count_keeps_fresh_head(tmp_path):
    path = tmp_path / "alexnet.pt"
    source = _save_rgb_alexnet(path, n_classes=1000 // 100)
    with pytest.warns(UserWarning, match="classifier.6 has 10 classes"):
        model = AlexNetClassifier.from_local_weights(path, in_channels=1, n_classes=2)
    assert model.classifier[6].weight.shape == (2, 16)
    torch.testing.assert_close(model.classifier[4].weight, source.classifier[4].weight)


def test_bad_files_raise_named_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        AlexNetClassifier.from_local_weights(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(DataFormatError, match="junk.pt: not a torch state dict"):
        AlexNetClassifier.from_local_weights(junk)
    partial = tmp_path / "partial.pt"
    torch.save({"features.0.weight": torch.zeros(4, 3, 11, 11)}, partial)
    with pytest.raises(DataFormatError, match="partial.pt: state dict has no 'classifier.1.weight'"):
        AlexNetClassifier.from_local_weights(partial)
