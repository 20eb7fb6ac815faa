"""`LayerViewer`: what each layer of a model does on one sample (like NVIDIA DIGITS' layer view).

- a table per leaf module: name, type, output shape, parameters (``models.summary.layer_table``) and
  activation mean/std and gradient L2 norm (``training.layer_probe.probe_layers``: one forward and
  backward, hooks removed and the model restored in ``finally``);
- the activation maps of channels ``channel_start .. channel_start + channel_count`` of ``layer``;
- the first convolution's filters (mean over input channels);
- guided-backprop patterns of those channels (``attribution.hidden_unit_attribution``): the input
  pattern that drives each channel's strongest neuron (``unit="max neuron"``) or the whole channel.
Each grid is one uint8 mosaic (``render.tile_mosaic``) sent as a binary array.
"""

from __future__ import annotations

import html
import math
from collections import Counter

import ipywidgets as widgets
import numpy as np
import torch
from traitlets import Int, Unicode, observe

from medinterp_widgets import render
from medinterp_widgets.attribution import LayerOutput, hidden_unit_attribution
from medinterp_widgets.attribution.hooks import CONV_TYPES
from medinterp_widgets.attribution.state import attribution_session
from medinterp_widgets.models.summary import layer_table
from medinterp_widgets.training.layer_probe import probe_layers
from medinterp_widgets.widgets.attribution_state import as_sample
from medinterp_widgets.widgets.bokeh_setup import BokehWidget, embed
from medinterp_widgets.widgets.browser_controls import error_html
from medinterp_widgets.widgets.image_figure import ImageFigure
from medinterp_widgets.widgets.layer_names import layer_label, plain_name

MOSAIC_SIDE_PX = 320
MAX_CHANNELS = 32
UNITS = ("max neuron", "whole channel")


def _fmt(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


class LayerViewer(BokehWidget, widgets.VBox):
    """Per-layer table, activation grid, first-layer filters and hidden-unit patterns of ``model`` on ``x``."""

    layer = Unicode("")
    channel_start = Int(0)
    channel_count = Int(16)
    unit = Unicode(UNITS[0])
    error = Unicode("")

    def __init__(self, model, x, **kwargs):
        super().__init__(**kwargs)
        self.model, self.x = model, as_sample(x, model)
        self.rows = layer_table(model, self.x)
        self.stats = {stat.name: stat for stat in probe_layers(model, self.x)}
        modules = dict(model.named_modules())
        self.map_layers = list(dict.fromkeys(row.name for row in self.rows if len(row.output_shape) == self.x.dim()
                                             and not getattr(modules[row.name], "return_indices", False)))
        self.set_trait("layer", self.map_layers[0] if self.map_layers else "")
        self.table = widgets.HTML(self.table_html(), layout=widgets.Layout(max_height="260px", overflow="auto"))
        self.activations = self._figure(self.activation_mosaic(), "activations")
        self.filters = self._figure(self.filter_mosaic(), "first-layer filters")
        self.patterns: ImageFigure | None = None
        self._build_controls()
        self.add_class("mi-layer-viewer")

    # -- numbers for the table ----------------------------------------------------------------------
    def table_html(self) -> str:
        """The layer table as HTML: one row per call of a leaf module, in call order, named in plain words;
        activation statistics for every row, the weight-gradient norm where a layer has weights ('–' else)."""
        head = "".join(f"<th>{h}</th>" for h in ("layer", "module", "output", "params", "output mean",
                                                   "output std", "weight grad ‖g‖"))
        uses = Counter(row.name for row in self.rows)
        seen: Counter = Counter()
        body = []
        for row in self.rows:
            seen[row.name] += 1
            stat = self.stats.get(row.name)
            grad = _fmt(stat.grad_norm) if stat and row.params else "–"
            cells = [plain_name(row.name, row.type, seen[row.name], uses[row.name]), f"{row.name} ({row.type})",
                     "×".join(map(str, row.output_shape)), f"{row.params:,}", _fmt(row.activation_mean),
                     _fmt(row.activation_std), grad]
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        return (f"<table class='mi-layer-table' style='font-size:12px'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")

    # -- mosaics ------------------------------------------------------------------------------------
    def channel_range(self, channels: int) -> range:
        start = min(max(self.channel_start, 0), max(channels - 1, 0))
        return range(start, min(start + max(min(self.channel_count, MAX_CHANNELS), 1), channels))

    def _activation(self) -> torch.Tensor:
        with attribution_session(self.model, grad=False):
            return LayerOutput(self.model, self.layer)(self.x)[0]  # (C, *S')

    def activation_mosaic(self) -> np.ndarray:
        """uint8 mosaic of the chosen channels' activation maps (3-D maps: their middle slice)."""
        activation = self._activation()
        maps = activation[list(self.channel_range(activation.shape[0]))]  # (k, *S')
        return render.tile_mosaic(_middle_slices(maps.cpu().numpy()))

    def filter_mosaic(self) -> np.ndarray:
        """uint8 mosaic of the first convolution's kernels, averaged over input channels."""
        conv = next((m for m in self.model.modules() if isinstance(m, CONV_TYPES)), None)
        if conv is None:
            return np.zeros((8, 8), np.uint8)
        kernels = conv.weight.detach().float().mean(1).cpu().numpy()  # (out, *k)
        return render.tile_mosaic(_middle_slices(kernels[:64]))

    def pattern_maps(self) -> np.ndarray:
        """(k, *S) guided-backprop maps, one per chosen channel, of its strongest neuron or the whole channel."""
        activation = self._activation()
        maps = []
        for channel in self.channel_range(activation.shape[0]):
            index = None
            if self.unit == UNITS[0]:
                flat = int(activation[channel].argmax())
                index = tuple(int(i) for i in np.unravel_index(flat, tuple(activation.shape[1:])))
            found = hidden_unit_attribution(self.model, self.x, layer=self.layer, channel=channel, index=index)
            maps.append(found[0].detach().float().cpu().numpy())
        return np.stack(maps)

    def show_patterns(self) -> None:
        """Compute and show the hidden-unit patterns (one backward per channel); errors go to ``error``."""
        try:
            mosaic = render.tile_mosaic(_middle_slices(self.pattern_maps()))
        except Exception as error:  # shown, never raised into the front end
            self.error = f"patterns: {type(error).__name__}: {error}"
            return
        self.error = ""
        if self.patterns is None:
            self.patterns = self._figure(mosaic, "guided backprop patterns")
            self.pattern_area.children = [embed(self.patterns.figure)]
        else:
            self.patterns.show_plane({"image": mosaic}, (1.0, 1.0))

    # -- widgets ------------------------------------------------------------------------------------
    @staticmethod
    def _figure(mosaic: np.ndarray, title: str) -> ImageFigure:
        figure = ImageFigure({"image": mosaic}, (1.0, 1.0), title=title, max_side=MOSAIC_SIDE_PX)
        figure.set_window(0, 255)
        figure.figure.axis.visible = False
        return figure

    def _build_controls(self) -> None:
        style = {"description_width": "70px"}
        layer_box = widgets.Dropdown(options=[(layer_label(self.model, n), n) for n in self.map_layers],
                                     description="layer", style=style, layout=widgets.Layout(width="460px"))
        start = widgets.BoundedIntText(min=0, max=4096, description="channel ≥", style=style,
                                       layout=widgets.Layout(width="160px"))
        count = widgets.BoundedIntText(min=1, max=MAX_CHANNELS, description="count", style=style,
                                       layout=widgets.Layout(width="160px"))
        unit = widgets.ToggleButtons(options=list(UNITS), description="unit",
                                     style={"description_width": "70px", "button_width": "110px"})
        for control, name in ((layer_box, "layer"), (start, "channel_start"), (count, "channel_count"),
                              (unit, "unit")):
            control.value = getattr(self, name)
            widgets.link((self, name), (control, "value"))
        button = widgets.Button(description="guided backprop patterns", layout=widgets.Layout(width="220px"))
        button.on_click(lambda _: self.show_patterns())
        self.error_label = widgets.HTML()
        self.pattern_area = widgets.VBox()
        self.controls = {"layer": layer_box, "channel_start": start, "channel_count": count, "unit": unit}
        self.children = [
            self.table, widgets.HBox([layer_box, start, count]), widgets.HBox([unit, button]), self.error_label,
            widgets.HBox([embed(self.activations.figure), self.pattern_area, embed(self.filters.figure)],
                         layout=widgets.Layout(flex_flow="row wrap")),
        ]

    @observe("layer", "channel_start", "channel_count")
    def _selection_changed(self, change) -> None:
        if not hasattr(self, "pattern_area"):
            return
        try:
            self.activations.show_plane({"image": self.activation_mosaic()}, (1.0, 1.0))
            self.error = ""
        except Exception as error:
            self.error = f"activations: {type(error).__name__}: {error}"
        if self.patterns is not None:
            self.show_patterns()

    @observe("error")
    def _error_changed(self, change) -> None:
        self.error_label.value = error_html(change["new"])


def _middle_slices(maps: np.ndarray) -> np.ndarray:
    """(k, h, w) as is; (k, d, h, w) -> the middle slice of each: (k, h, w)."""
    return maps[:, maps.shape[1] // 2] if maps.ndim == 4 else maps
