"""render.py: window/level, stable label colours, colormaps, overlays; inputs never modified."""

import numpy as np
import pytest

from medinterp_widgets import render


def test_window_to_uint8_formula():
    values = np.array([-100, 0, 50, 100, 200], dtype=np.int16)
    grey = render.window_to_uint8(values, center=50, width=100)
    assert grey.dtype == np.uint8
    assert grey.tolist() == [0, 0, 128, 255, 255]  # (50 - 0) / 100 * 255 = 127.5 -> 128


def test_auto_window_spans_percentiles():
    values = np.arange(101, dtype=np.float32)
    center, width = render.auto_window(values, (0, 100))
    assert (center, width) == (50.0, 100.0)
    assert render.auto_window(np.full(3, np.nan)) == (0.5, 1.0)


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.int16, np.int16), (np.uint8, np.uint8), (np.uint16, np.uint16), (bool, np.uint8),
     (np.float64, np.float32), (np.int64, np.int16), (np.float32, np.float32)],
)
def test_compact_for_display_never_float64(dtype, expected):
    array = np.ones((4, 5), dtype=dtype)
    out = render.compact_for_display(array[:, ::2])
    assert out.dtype == expected and out.flags.c_contiguous


def test_compact_for_display_wide_ints_that_do_not_fit_go_float32():
    assert render.compact_for_display(np.array([0, 70000])).dtype == np.float32


def test_label_colours_are_stable_by_id():
    assert render.label_color(0) == render.TRANSPARENT
    assert render.label_color(3) == render.LABEL_COLORS[2]
    assert render.label_color(3 + len(render.LABEL_COLORS)) == render.label_color(3)
    palette = render.label_palette()
    assert len(palette) == 256 and palette[1] == render.label_color(1)
    with pytest.raises(ValueError):
        render.label_color(-1)


def test_colormap_palette_threshold_makes_low_levels_transparent():
    palette = render.colormap_palette("jet", threshold=0.5)
    assert palette[0] == render.TRANSPARENT and palette[127] == render.TRANSPARENT
    assert palette[128] != render.TRANSPARENT and len(palette[255]) == 7
    assert render.colormap_lut("gray")[10].tolist() == [10, 10, 10]
    with pytest.raises(ValueError, match="colormap"):
        render.colormap_lut("rainbow-unicorn")


def test_heatmap_to_index_and_range():
    heat = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float64)
    assert render.heatmap_range(heat) == (0.0, 1.0)
    levels = render.heatmap_to_index(heat, 0.0, 1.0)
    assert levels.dtype == np.uint8 and levels.tolist() == [[0, 128], [255, 0]]


def test_label_index_contour_keeps_only_edges():
    labels = np.zeros((7, 7), dtype=np.int64)
    labels[1:6, 1:6] = 2
    before = labels.copy()
    contour = render.label_index(labels, "contour")
    assert contour.dtype == np.uint8
    assert contour[3, 3] == 0 and contour[1, 3] == 2 and contour[0, 0] == 0
    assert np.array_equal(render.label_index(labels, "fill"), labels)
    assert np.array_equal(labels, before)
    with pytest.raises(ValueError, match="mask mode"):
        render.label_index(labels, "outline")


def test_slice_rgba_composes_layers():
    image = np.zeros((4, 4), dtype=np.int16)
    labels = np.zeros((4, 4), dtype=np.uint8)
    labels[0, 0] = 1
    heat = np.zeros((4, 4), dtype=np.float32)
    heat[3, 3] = 1.0
    rgba = render.slice_rgba(image, 0.5, 1, labels=labels, label_mode="fill", label_opacity=1.0,
                             heatmap=heat, colormap="hot", heatmap_opacity=1.0, heatmap_threshold=0.5)
    assert rgba.shape == (4, 4, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0, :3]) == render._hex_to_rgba(render.label_color(1))[:3]
    assert tuple(rgba[1, 1]) == (0, 0, 0, 255)  # below threshold: plain grey
    assert tuple(rgba[3, 3, :3]) == tuple(render.colormap_lut("hot")[255])
