"""Arguments the engine refuses with a clear, named error instead of ignoring them or failing deep inside:
a layer for a method that uses none, a layer without spatial output, NaN/inf input, an empty batch."""

from __future__ import annotations

import pytest
import torch

from medinterp_widgets.attribution import LAYER_METHODS, METHODS, InputError, LayerError, attribute

from .conftest import random_classifier

INPUT_METHODS = sorted(set(METHODS) - set(LAYER_METHODS))
KWARGS = {"occlusion": {"window": 4, "stride": 4}}


def test_input_methods_are_the_four_that_use_no_layer():
    assert INPUT_METHODS == ["deconvnet", "guided_backprop", "occlusion", "saliency"]


@pytest.mark.parametrize("method", INPUT_METHODS)
@pytest.mark.parametrize("layer", ["3", "own-module", "foreign-module"])
def test_layer_given_to_a_method_that_uses_none(method, layer, image_batch):
    model, other = random_classifier(), random_classifier(seed=1)
    chosen = {"3": "3", "own-module": model[3], "foreign-module": other[3]}[layer]
    with pytest.raises(LayerError, match=f"{method!r} works on the input and uses no layer"):
        attribute(model, image_batch, method=method, target=0, layer=chosen, **KWARGS.get(method, {}))


@pytest.mark.parametrize("method", sorted(LAYER_METHODS))
@pytest.mark.parametrize("layer", ["7", "6"])  # Linear (B, 3) and Flatten (B, 6)
def test_layer_without_spatial_output(method, layer, image_batch):
    with pytest.raises(LayerError, match=rf"layer '{layer}': output shape \(3, \d\) has no spatial dims"):
        attribute(random_classifier(), image_batch, method=method, target=0, layer=layer)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input(method, bad, image_batch):
    x = image_batch.clone()
    x[1, 0, 3, 4] = bad
    with pytest.raises(InputError, match="1 of 1536 values are NaN/inf"):
        attribute(random_classifier(), x, method=method, target=0, **KWARGS.get(method, {}))


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("shape", [(0, 2, 16, 16), (1, 2, 0, 16)])
def test_empty_batch(method, shape):
    with pytest.raises(InputError, match="is empty"):
        attribute(random_classifier(), torch.zeros(shape), method=method, target=0)


def test_errors_are_value_errors_for_old_callers():
    assert issubclass(InputError, ValueError) and issubclass(LayerError, ValueError)
