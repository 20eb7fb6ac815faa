"""The ipywidgets controls of a SliceBrowser, each linked to one of its traits.

Controls that do not apply are hidden: axis and slice for 2-D images, frame/Play for still images,
mask and heatmap rows when there is no overlay. Play steps frames at 10 per second (throttled).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from medinterp_widgets import render

PLAY_INTERVAL_MS = 100


def error_html(text: str) -> str:
    """An error message as red HTML (escaped); empty text gives an empty string."""
    return f'<span style="color:#b00020">{html.escape(text)}</span>' if text else ""


def _hide(*controls) -> None:
    for control in controls:
        control.layout.display = "none"


@dataclass
class BrowserControls:
    axis: widgets.ToggleButtons
    slice_slider: widgets.IntSlider
    frame_slider: widgets.IntSlider
    play: widgets.Play
    preset: widgets.Dropdown
    center: widgets.FloatSlider
    width: widgets.FloatSlider
    mask_mode: widgets.ToggleButtons
    mask_opacity: widgets.FloatSlider
    colormap: widgets.Dropdown
    heat_opacity: widgets.FloatSlider
    heat_threshold: widgets.FloatSlider
    probe: widgets.HTML
    error: widgets.HTML
    top: widgets.VBox
    bottom: widgets.VBox

    def reveal_heatmap_controls(self) -> None:
        for control in (self.colormap, self.heat_opacity, self.heat_threshold):
            control.layout.display = None


def _slider(cls, description: str, **kwargs):
    style = {"description_width": "70px"}
    return cls(description=description, continuous_update=True, style=style,
               layout=widgets.Layout(width="380px"), **kwargs)


def _value_range(volume) -> tuple[float, float]:
    finite = volume.array[np.isfinite(volume.array)] if volume.array.dtype.kind == "f" else volume.array
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return low, max(high, low + 1e-3)


def _round_step(span: float) -> float:
    """A power of ten near span / 200, so round preset values (40/400, 1000/1600) sit on the slider grid."""
    return float(10.0 ** np.floor(np.log10(max(span / 200, 1e-9))))


def _window_widgets(browser):
    low, high = _value_range(browser.volume)
    span = high - low
    step = _round_step(span)
    first, last = np.floor((low - span) / step) * step, np.ceil((high + span) / step) * step
    center = _slider(widgets.FloatSlider, "level", min=first, max=last, step=step, readout_format=".4g",
                     value=browser.window_center)
    width = _slider(widgets.FloatSlider, "window", min=step, max=np.ceil(2 * span / step) * step + step, step=step,
                    readout_format=".4g", value=max(browser.window_width, step))
    preset = widgets.Dropdown(options=list(browser.presets), description="preset",
                              value=list(browser.presets)[min(1, len(browser.presets) - 1)],
                              style={"description_width": "70px"}, layout=widgets.Layout(width="260px"))

    def apply_preset(change):
        browser.window_center, browser.window_width = browser.presets[change["new"]]

    preset.observe(apply_preset, names="value")
    widgets.link((center, "value"), (browser, "window_center"))
    widgets.link((width, "value"), (browser, "window_width"))
    return preset, center, width


def _navigation_widgets(browser):
    axis = widgets.ToggleButtons(options=["z", "y", "x"], value=browser.axis, description="axis",
                                 style={"description_width": "70px", "button_width": "40px"})
    slice_slider = _slider(widgets.IntSlider, "slice", min=0, max=browser.n_slices() - 1,
                           value=browser.slice_index)
    slice_slider.add_class("mi-slice-slider")
    frame_slider = _slider(widgets.IntSlider, "frame", min=0, max=browser.volume.n_frames - 1, value=0)
    frame_slider.add_class("mi-frame-slider")
    play = widgets.Play(min=0, max=browser.volume.n_frames - 1, interval=PLAY_INTERVAL_MS, description="play")
    widgets.jslink((play, "value"), (frame_slider, "value"))
    widgets.link((axis, "value"), (browser, "axis"))
    widgets.link((frame_slider, "value"), (browser, "frame"))

    widgets.dlink((browser, "slice_count"), (slice_slider, "max"), transform=lambda n: max(n - 1, 0))
    widgets.link((slice_slider, "value"), (browser, "slice_index"))
    if not browser.volume.is_3d:
        _hide(axis, slice_slider)
    if not browser.volume.has_time:
        _hide(frame_slider, play)
    return axis, slice_slider, frame_slider, play


def _overlay_widgets(browser):
    mask_mode = widgets.ToggleButtons(options=["contour", "fill"], value=browser.mask_mode, description="mask",
                                      style={"description_width": "70px", "button_width": "70px"})
    mask_opacity = _slider(widgets.FloatSlider, "mask α", min=0, max=1, step=0.05, value=browser.mask_opacity)
    colormap = widgets.Dropdown(options=[c for c in render.COLORMAPS if c != "gray"], value=browser.colormap,
                                description="heatmap", style={"description_width": "70px"},
                                layout=widgets.Layout(width="200px"))
    heat_opacity = _slider(widgets.FloatSlider, "heat α", min=0, max=1, step=0.05, value=browser.heatmap_opacity)
    heat_threshold = _slider(widgets.FloatSlider, "threshold", min=0, max=1, step=0.01,
                             value=browser.heatmap_threshold)
    for control, name in ((mask_mode, "mask_mode"), (mask_opacity, "mask_opacity"), (colormap, "colormap"),
                          (heat_opacity, "heatmap_opacity"), (heat_threshold, "heatmap_threshold")):
        widgets.link((control, "value"), (browser, name))
    if browser.masks is None:
        _hide(mask_mode, mask_opacity)
    if browser.heatmaps is None:
        _hide(colormap, heat_opacity, heat_threshold)
    return mask_mode, mask_opacity, colormap, heat_opacity, heat_threshold


def _status_widgets(browser):
    probe = widgets.HTML(browser.describe_probe())
    error = widgets.HTML("", layout=widgets.Layout(min_height="1.5em"))
    error.add_class("mi-error")
    browser.observe(lambda change: setattr(probe, "value", browser.describe_probe()), names="probe")

    def show_error(change):
        error.value = error_html(change["new"])

    browser.observe(show_error, names="error")
    return probe, error


def build_controls(browser) -> BrowserControls:
    """Create and link every control of ``browser``; ``top`` goes above the image, ``bottom`` below."""
    axis, slice_slider, frame_slider, play = _navigation_widgets(browser)
    preset, center, width = _window_widgets(browser)
    mask_mode, mask_opacity, colormap, heat_opacity, heat_threshold = _overlay_widgets(browser)
    probe, error = _status_widgets(browser)
    top = widgets.VBox([axis, slice_slider, widgets.HBox([frame_slider, play]), error])
    bottom = widgets.VBox([
        widgets.HBox([preset, center, width], layout=widgets.Layout(flex_flow="row wrap")),
        widgets.HBox([mask_mode, mask_opacity]),
        widgets.HBox([colormap, heat_opacity, heat_threshold]),
        probe,
    ])
    return BrowserControls(axis, slice_slider, frame_slider, play, preset, center, width, mask_mode, mask_opacity,
                           colormap, heat_opacity, heat_threshold, probe, error, top, bottom)
