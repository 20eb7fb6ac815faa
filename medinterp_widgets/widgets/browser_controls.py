"""The ipywidgets controls of a SliceBrowser, each linked to one of its traits.

Controls that do not apply are hidden: view and slice for 2-D images, frame / play / frame rate for
still images, mask and heatmap rows when there is no overlay. The view buttons carry the names of the
volume's views (axial / coronal / sagittal, or the array axes of a volume without geometry, which a
note under them says). Play hands the frames to the browser's own player (``widgets.cine_player``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from medinterp_widgets import render
from medinterp_widgets.data.orientation import axis_codes


def error_html(text: str) -> str:
    """An error message as red HTML (escaped); empty text gives an empty string."""
    return f'<span style="color:#b00020">{html.escape(text)}</span>' if text else ""


def legend_html(labels: list[int], names: dict[int, str]) -> str:
    """One colour swatch and class name per label id (colours as drawn: ``render.label_palette(names)``)."""
    if not labels:
        return ""
    palette = render.label_palette(names)
    items = [f"<span class='mi-legend-item' style='margin-right:12px;white-space:nowrap'>"
             f"<span style='display:inline-block;width:12px;height:12px;background:{palette[k][:7]};"
             f"vertical-align:middle;margin-right:4px'></span>{html.escape(names.get(k, f'label {k}'))}</span>"
             for k in labels]
    return f"<div class='mi-legend' style='font-size:12px;line-height:1.8'>{''.join(items)}</div>"


def orientation_note(browser) -> str:
    """One line on where the views come from (or that the file has no patient geometry)."""
    volume = browser.volume
    if not volume.has_geometry:
        views = "views are the array axes (z, y, x) as stored" if volume.is_3d else "shown as stored"
        return f"<small>no patient geometry in this file: {views}, without anatomical markers</small>"
    codes = axis_codes(volume)
    source = html.escape(str(volume.metadata.get("geometry") or "volume's origin and direction"))
    return (f"<small>orientation from the {source}: array axes (z, y, x) point to {', '.join(codes)}; "
            "shown in radiological convention (patient's right on the screen's left)</small>")


def _hide(*controls) -> None:
    for control in controls:
        control.layout.display = "none"


@dataclass
class BrowserControls:
    axis: widgets.ToggleButtons
    slice_slider: widgets.IntSlider
    frame_slider: widgets.IntSlider
    play: widgets.ToggleButton
    fps: widgets.BoundedFloatText
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
    legend: widgets.HTML
    orientation: widgets.HTML
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
    axis = widgets.ToggleButtons(options=[(view.label, key) for key, view in browser.views.items()],
                                 value=browser.axis, description="view",
                                 style={"description_width": "70px", "button_width": "auto"})
    slice_slider = _slider(widgets.IntSlider, "slice", min=0, max=browser.n_slices() - 1,
                           value=browser.slice_index)
    slice_slider.add_class("mi-slice-slider")
    frame_slider = _slider(widgets.IntSlider, "frame", min=0, max=browser.volume.n_frames - 1, value=0)
    frame_slider.add_class("mi-frame-slider")
    play = widgets.ToggleButton(description="▶ play", tooltip="play the frames of this slice in the browser",
                                layout=widgets.Layout(width="90px"))
    play.add_class("mi-play")
    fps = widgets.BoundedFloatText(min=0.5, max=60, step=1, description="frames/s", value=browser.fps,
                                   style={"description_width": "60px"}, layout=widgets.Layout(width="130px"))
    fps.add_class("mi-fps")
    widgets.link((axis, "value"), (browser, "axis"))
    widgets.link((frame_slider, "value"), (browser, "frame"))
    widgets.link((play, "value"), (browser, "playing"))
    widgets.link((fps, "value"), (browser, "fps"))
    play.observe(lambda change: setattr(play, "description", "■ stop" if change["new"] else "▶ play"), names="value")
    widgets.dlink((browser, "playing"), (frame_slider, "disabled"))
    widgets.dlink((browser, "slice_count"), (slice_slider, "max"), transform=lambda n: max(n - 1, 0))
    widgets.link((slice_slider, "value"), (browser, "slice_index"))
    if not browser.volume.is_3d:
        _hide(axis, slice_slider)
    if not browser.volume.has_time:
        _hide(frame_slider, play, fps)
    return axis, slice_slider, frame_slider, play, fps


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
    probe.add_class("mi-probe")
    error = widgets.HTML("", layout=widgets.Layout(min_height="1.5em"))
    error.add_class("mi-error")
    browser.observe(lambda change: setattr(probe, "value", browser.describe_probe()), names="probe")

    def show_error(change):
        error.value = error_html(change["new"])

    browser.observe(show_error, names="error")
    legend = widgets.HTML(browser.legend())
    legend.add_class("mi-legend-box")
    note = widgets.HTML(orientation_note(browser))
    note.add_class("mi-orientation")
    return probe, error, legend, note


def build_controls(browser) -> BrowserControls:
    """Create and link every control of ``browser``; ``top`` goes above the image, ``bottom`` below."""
    axis, slice_slider, frame_slider, play, fps = _navigation_widgets(browser)
    preset, center, width = _window_widgets(browser)
    mask_mode, mask_opacity, colormap, heat_opacity, heat_threshold = _overlay_widgets(browser)
    probe, error, legend, note = _status_widgets(browser)
    top = widgets.VBox([axis, note, slice_slider, widgets.HBox([frame_slider, play, fps]), error])
    bottom = widgets.VBox([
        legend,
        widgets.HBox([preset, center, width], layout=widgets.Layout(flex_flow="row wrap")),
        widgets.HBox([mask_mode, mask_opacity]),
        widgets.HBox([colormap, heat_opacity, heat_threshold]),
        probe,
    ])
    return BrowserControls(axis, slice_slider, frame_slider, play, fps, preset, center, width, mask_mode,
                           mask_opacity, colormap, heat_opacity, heat_threshold, probe, error, legend, note, top,
                           bottom)
