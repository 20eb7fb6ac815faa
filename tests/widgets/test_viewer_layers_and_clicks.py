"""Issue #15 in the viewer: any layer with a spatial output (a name or a module; an unusable one is an error
line), the layer used shown, and click / brush to explain a segmentation model's region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from medinterp_widgets.bench.byo_models import ResNetLike, randomised
from medinterp_widgets.widgets.attribution_viewer import AttributionViewer


@pytest.fixture(scope="module")
def resnet_viewer():
    torch.manual_seed(0)
    model = randomised(ResNetLike(2))
    x = torch.rand((1, 1, 16, 16), generator=torch.Generator().manual_seed(2))
    return AttributionViewer(model, x, methods=("gradcam", "cam", "saliency"), faithfulness=False)


def test_every_spatial_module_is_offered_grouped_by_block(resnet_viewer):
    viewer = resnet_viewer
    names = viewer.layer_names
    assert {"layer4", "layer4.1", "layer4.1.conv2", "layer3", "conv1"} <= set(names)
    assert "avgpool" not in names and "fc" not in names
    assert names.index("layer4") < names.index("layer4.1") < names.index("layer4.1.conv2")  # block, then parts
    labels = dict((name, label) for label, name in viewer.layer_box.options)
    assert "(default)" in labels["layer4"] and labels["layer4.1.conv2"].startswith("· · ")
    assert viewer.layer == "layer4" and viewer.layer_used == "layer4" and "layer4" in viewer.notes.value


def test_a_name_or_a_module_is_accepted_and_a_bad_layer_is_an_error_line(resnet_viewer):
    viewer = resnet_viewer
    viewer.layer = viewer.model.layer3  # a module object is named
    assert viewer.layer == "layer3" and viewer.layer_used == "layer3" and not viewer.error
    viewer.layer = "layer4"
    assert viewer.layer == "layer4" and viewer.layer_used == "layer4"
    viewer.layer = "avgpool"  # no spatial output: no TraitError, the layer stays
    assert viewer.layer == "layer4" and "no spatial dims" in viewer.error
    viewer.layer = "no.such.layer"
    assert viewer.layer == "layer4" and "no.such.layer" in viewer.error
    viewer.layer = "layer3"
    viewer.method = "cam"  # CAM at layer3 has no GAP -> linear head: one line in the panel
    assert "CAM is not defined" in viewer.error and "layer3" in viewer.error
    viewer.layer = "layer4"
    assert not viewer.error


def two_blob_segmenter(dims: int) -> nn.Module:
    """Logits (-x, x): class 1 wherever x > 0; output voxel u depends on input voxel u only."""
    conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([-1.0, 1.0]).view(2, 1, *([1] * dims)))
    return nn.Sequential(conv).eval()


def blobs(shape):
    x = -torch.ones((1, 1) + shape)
    first = (0, 0) + tuple(slice(1, 4) for _ in shape)
    second = (0, 0) + tuple(slice(8, 12) for _ in shape)
    x[first], x[second] = 1.0, 1.0
    return x, x[0, 0].numpy() > 0


@pytest.mark.parametrize("dims", [2, 3])
def test_a_tap_explains_the_structure_under_it(dims):
    x, _ = blobs((14,) * dims)
    viewer = AttributionViewer(two_blob_segmenter(dims), x, methods=("saliency",), faithfulness=False)
    assert viewer.info.task == "segmentation"
    if dims == 3:
        viewer.browser.slice_index = 2  # z = 2 crosses the first blob
    viewer.browser._on_tap(2.5, 2.5)  # what a tap at (row 2, col 2) sends, in mm (spacing 1)
    assert viewer.region == "selected" and viewer.target_class == 1 and not viewer.error
    first = np.zeros((14,) * dims, bool)
    first[tuple(slice(1, 4) for _ in range(dims))] = True
    assert np.array_equal(viewer.selected, first)  # the connected region only, not the other blob
    assert np.array_equal(viewer.heatmap != 0, first)  # the map follows: only the tapped structure


def test_a_brushed_box_explains_the_class_inside_it():
    x, _ = blobs((14, 14))
    viewer = AttributionViewer(two_blob_segmenter(2), x, methods=("saliency",), faithfulness=False)
    viewer.clicks.on_box(7.2, 10.5, 9.1, 13.9)  # x: cols 7..10, y: rows 9..13, in mm
    inside = np.zeros((14, 14), bool)
    inside[9:12, 8:11] = True  # class-1 voxels of the second blob inside the box
    assert viewer.region == "selected" and viewer.target_class == 1
    assert np.array_equal(viewer.selected, inside) and np.array_equal(viewer.heatmap != 0, inside)
    viewer.clicks.on_box(0.0, 0.5, 13.0, 13.5)  # only background in the box: class 0 there
    assert viewer.target_class == 0 and viewer.selected[13, 0] and not viewer.error


def test_a_tap_on_a_classifier_only_probes(resnet_viewer):
    viewer = resnet_viewer
    before = (viewer.region, viewer.target_class, viewer.selection_id)
    viewer.browser._on_tap(3.0, 3.0)
    assert (viewer.region, viewer.target_class, viewer.selection_id) == before and viewer.browser.probe
