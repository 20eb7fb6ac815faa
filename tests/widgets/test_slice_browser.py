"""SliceBrowser without a browser: trait round trips, what each change sends, probe, bad slices, links."""

import numpy as np
import pytest

from medinterp_widgets import render
from medinterp_widgets.data.volume import Volume
from medinterp_widgets.widgets.slice_browser import SliceBrowser, link_browsers
from medinterp_widgets.widgets.transport import record_patches


@pytest.fixture
def cine():
    """A tiny cine stack (t=3, z=4, y=12, x=10), int16, anisotropic spacing, with presets."""
    rng = np.random.default_rng(0)
    array = rng.integers(-50, 800, size=(3, 4, 12, 10)).astype(np.int16)
    volume = Volume(array, spacing=(8.0, 1.5, 1.0), origin=(10.0, 20.0, 30.0), axes=("t", "z", "y", "x"),
                    metadata={"windows": [{"name": "soft", "center": 300, "width": 400}]})
    masks = np.zeros(volume.spatial_shape, dtype=np.int64)
    masks[:, 3:8, 2:7] = 2
    heat = rng.random(array.shape)  # float64 on purpose: must never reach the browser as float64
    return volume, masks, heat


def _layers(browser):
    return {k: v[0] for k, v in browser.image.source.data.items() if k in ("image", "mask", "heat")}


def test_initial_state_uses_metadata_preset_and_middle_slice(cine):
    volume, masks, heat = cine
    browser = SliceBrowser(volume, masks, heat)
    assert (browser.axis, browser.slice_index, browser.slice_count) == ("z", 2, 4)
    assert (browser.window_center, browser.window_width) == (300.0, 400.0)
    mapper = browser.image.mappers["image"]
    assert (mapper.low, mapper.high) == (100.0, 500.0)


def test_slice_and_frame_changes_send_raw_int16_and_uint8_overlays(cine):
    volume, masks, heat = cine
    masks = masks.copy()
    masks[1, 0, 0] = 1  # slice 1's mask differs from slice 2's
    browser = SliceBrowser(volume, masks, heat)
    with record_patches(browser.image.figure) as log:
        browser.slice_index = 1
        browser.frame = 2
    layers = _layers(browser)
    assert layers["image"].dtype == np.int16 and layers["image"].shape == (12, 10)
    assert np.array_equal(layers["image"], volume.array[2, 1])
    assert layers["mask"].dtype == np.uint8 and layers["heat"].dtype == np.uint8
    assert "float64" not in log.buffer_dtypes()
    # the slice step sends all three layers; the frame step only image and heatmap (the mask is spatial-only)
    assert sorted(log.buffer_dtypes()) == ["int16", "int16", "uint8", "uint8", "uint8"]
    pixels = 12 * 10
    assert log.buffer_bytes() == (pixels * 2 + 2 * pixels) + (pixels * 2 + pixels)  # raw + 1 byte/px per overlay


def test_a_step_resends_only_layers_that_changed(cine):
    volume, masks, heat = cine
    browser = SliceBrowser(volume, masks, heat[0])  # spatial-only heatmap too: the same for every frame
    with record_patches(browser.image.figure) as log:
        browser.frame = 1
    assert [event.cols for event in log.events] == [["image"]]
    assert np.array_equal(_layers(browser)["image"], volume.array[1, 2])
    with record_patches(browser.image.figure) as log:
        browser.frame = 1  # nothing changed: nothing sent
        browser._show()
    assert log.events == []


def test_window_threshold_colormap_opacity_send_no_pixels(cine):
    browser = SliceBrowser(*cine)
    with record_patches(browser.image.figure) as log:
        browser.window_center, browser.window_width = 50.0, 10.0
        browser.heatmap_threshold = 0.7
        browser.colormap = "hot"
        browser.heatmap_opacity = 0.3
    assert log.events and log.buffer_bytes() == 0
    assert browser.image.mappers["image"].low == 45.0
    assert browser.image.mappers["heat"].palette == render.colormap_palette("hot", 0.7)
    assert browser.image.renderers["heat"].glyph.global_alpha == 0.3


def test_controls_round_trip_to_traits(cine):
    browser = SliceBrowser(*cine)
    assert (browser.controls.center.value, browser.controls.width.value) == (300.0, 400.0)  # preset not snapped
    browser.controls.slice_slider.value = 3
    assert browser.slice_index == 3
    browser.frame = 1
    assert browser.controls.frame_slider.value == 1
    browser.controls.preset.value = "auto"
    assert (browser.window_center, browser.window_width) == browser.auto_window
    browser.controls.mask_mode.value = "fill"
    assert np.array_equal(_layers(browser)["mask"], cine[1][3].astype(np.uint8))


def test_axis_change_updates_extent_in_mm_and_slider(cine):
    browser = SliceBrowser(*cine)
    fig = browser.image.figure
    assert (fig.x_range.end, fig.y_range.start) == (10.0, 18.0)  # 10 cols * 1.0 mm, 12 rows * 1.5 mm
    browser.axis = "x"
    assert _layers(browser)["image"].shape == (4, 12)
    assert (fig.x_range.end, fig.y_range.start) == (18.0, 32.0)  # (12 * 1.5, 4 * 8.0)
    assert browser.slice_index == 5 and browser.controls.slice_slider.max == 9
    assert fig.frame_height > fig.frame_width
    assert browser.image.source.data["dw"] == [18.0]


def test_probe_reports_value_and_patient_mm(cine):
    volume = cine[0]
    browser = SliceBrowser(volume)
    browser.frame = 1
    browser._on_tap(4.5, 6.2)  # x = 4.5 mm -> col 4, y = 6.2 mm -> row 4 (1.5 mm rows)
    assert browser.probe["index"] == (2, 4, 4)
    assert browser.probe["value"] == int(volume.array[1, 2, 4, 4])
    assert browser.probe["mm"] == [10.0 + 4.0, 20.0 + 6.0, 30.0 + 16.0]
    # one order per number, each named: voxel in array order (z, y, x), position in patient LPS (x, y, z)
    assert "voxel (z 2, y 4, x 4)" in browser.describe_probe()
    assert "14.0 mm L, 26.0 mm P, 46.0 mm S (LPS x, y, z = 14.0, 26.0, 46.0 mm)" in browser.describe_probe()
    browser.axis = "x"  # sagittal: rows run to inferior (z decreasing), columns to posterior (y), slice x = 5
    assert browser.probe_at(1, 3)["index"] == (2, 3, 5)
    assert browser.probe_at(1, 3)["value"] == int(volume.array[1, 2, 3, 5])


def test_bad_slice_keeps_last_image_and_shows_error(cine):
    browser = SliceBrowser(*cine)
    before = _layers(browser)["image"].copy()
    browser.slice_index = 99
    assert "slice 99" in browser.error and "outside 0..3" in browser.error
    assert np.array_equal(_layers(browser)["image"], before)
    assert "slice 99" in browser.controls.error.value

    def broken(*args):
        raise OSError("disk went away")

    browser._read_plane = broken
    browser.slice_index = 1
    assert "disk went away" in browser.error and np.array_equal(_layers(browser)["image"], before)
    del browser._read_plane
    browser.slice_index = 0
    assert browser.error == ""


def test_inputs_are_not_modified_and_bad_shapes_are_named(cine):
    volume, masks, heat = cine
    copies = volume.array.copy(), masks.copy(), heat.copy()
    SliceBrowser(volume, masks, heat).slice_index = 0
    assert all(np.array_equal(a, b) for a, b in zip(copies, (volume.array, masks, heat)))
    with pytest.raises(ValueError, match="masks shape"):
        SliceBrowser(volume, masks[:, :5])


def test_2d_image_and_plain_array_hide_navigation():
    browser = SliceBrowser(np.arange(20, dtype=np.float64).reshape(4, 5))
    assert _layers(browser)["image"].dtype == np.float32
    assert browser.controls.slice_slider.layout.display == "none"
    assert browser.controls.play.layout.display == "none" and browser.controls.fps.layout.display == "none"
    assert "heat" not in browser.image.renderers


def test_link_browsers_shares_slice_and_window(cine):
    a, b = SliceBrowser(cine[0]), SliceBrowser(cine[0], cine[1])
    links = link_browsers(a, b)
    a.slice_index = 0
    b.window_width = 123.0
    assert b.slice_index == 0 and a.window_width == 123.0
    for link in links:
        link.unlink()
    a.slice_index = 3
    assert b.slice_index == 0


def test_set_heatmaps_adds_a_top_layer_later(cine):
    volume, masks, heat = cine
    browser = SliceBrowser(volume, masks)
    assert "heat" not in browser.image.renderers
    assert browser.controls.colormap.layout.display == "none"
    browser.set_heatmaps(heat.astype(np.float32))
    assert _layers(browser)["heat"].dtype == np.uint8
    images = [r for r in browser.image.figure.renderers if r in browser.image.renderers.values()]
    assert images[-1] is browser.image.renderers["heat"]
    assert browser.controls.colormap.layout.display is None
    with record_patches(browser.image.figure) as log:
        browser.slice_index = 0
    assert log.buffer_bytes() == 12 * 10 * (2 + 1)  # image and heatmap; this mask is the same on every slice


def test_frame_size_keeps_physical_aspect():
    from medinterp_widgets.widgets.image_figure import frame_size

    assert frame_size((100.0, 50.0)) == (480, 240)
    assert frame_size((10.0, 40.0)) == (120, 480)


def test_bokeh_tap_event_reaches_the_probe(cine):
    from bokeh.events import Tap

    browser = SliceBrowser(cine[0])
    figure = browser.image.figure
    figure._trigger_event(Tap(figure, x=2.5, y=3.1))  # col 2, row 2 (1.5 mm rows)
    assert browser.probe["index"] == (2, 2, 2)
    assert "voxel (z 2, y 2, x 2)" in browser.controls.probe.value
