"""The bokeh side of the training monitor: three ColumnDataSources and five figures that only grow.

``steps`` (one row per optimizer step) feeds the loss, batch-accuracy and learning-rate lines;
``epochs`` (one row per epoch, train and val columns) feeds the loss, accuracy/Dice and rate
(sensitivity, specificity, PPV, NPV) markers; ``layers`` holds the gradient-norm heat strip as
image glyph rows, each an (n_layers, k) block of k new samples placed at their steps. ``append(rows)``
sends new points with ``ColumnDataSource.stream`` (one small patch per source that changed; never a
full redraw); a new view is built from the whole history and then streams like the others.
"""

from __future__ import annotations

import math

import numpy as np
from bokeh.layouts import column, gridplot
from bokeh.models import ColorBar, ColumnDataSource, FixedTicker, LinearColorMapper
from bokeh.plotting import figure

from medinterp_widgets import render
from medinterp_widgets.widgets.monitor_history import EPOCH_COLUMNS, STEP_COLUMNS, Rows

WIDTH, HEIGHT, STRIP_HEIGHT = 430, 220, 200
SPLIT_STYLE = {"train": {"line_dash": "dashed", "marker": "square"}, "val": {"line_dash": "solid", "marker": "circle"}}
QUALITY = {"accuracy": "#1f77b4", "dice_mean": "#d62728"}
RATES = {"sensitivity": "#2ca02c", "specificity": "#9467bd", "ppv": "#ff7f0e", "npv": "#8c564b"}
HEAT_COLUMNS = ("image", "x", "y", "dw", "dh")


class MonitorView:
    """Figures for one display of a monitor; ``layout`` is the bokeh root, ``append`` adds rows."""

    def __init__(self, rows: Rows, layer_names: tuple[str, ...] = (), title: str = "training"):
        self.steps = ColumnDataSource({name: [] for name in STEP_COLUMNS})
        self.epochs = ColumnDataSource({name: [] for name in EPOCH_COLUMNS})
        self.layers = ColumnDataSource({name: [] for name in HEAT_COLUMNS})
        self.heat_mapper = LinearColorMapper(palette=render.colormap_palette("viridis"), low=-4, high=0,
                                             nan_color=render.TRANSPARENT)
        self.layer_names: tuple[str, ...] = ()
        figures = self._curve_figures()
        self.strip = self._heat_strip(figures[0].x_range)
        self.layout = column(gridplot(figures, ncols=2, toolbar_location="right"), self.strip, name=title)
        self.append(rows, layer_names)

    # ----------------------------------------------------------------- construction
    def _figure(self, title: str, **kwargs):
        fig = figure(title=title, width=WIDTH, height=HEIGHT, tools="pan,wheel_zoom,box_zoom,reset,hover",
                     x_axis_label="step", **kwargs)
        fig.toolbar.logo = None
        return fig

    def _curve_figures(self) -> list:
        loss = self._figure("loss (epochs: train dashed □, val solid ○)")
        loss.line("step", "loss", source=self.steps, color="#bbbbbb", legend_label="batch")  # one point per step
        self._epoch_lines(loss, {"loss": "#1f77b4"})
        quality = self._figure("accuracy / Dice", x_range=loss.x_range, y_range=(0, 1.02))
        quality.line("step", "accuracy", source=self.steps, color="#cccccc", legend_label="batch accuracy")
        self._epoch_lines(quality, QUALITY)
        rates = self._figure("sensitivity / specificity / PPV / NPV (classification)", x_range=loss.x_range,
                             y_range=(0, 1.02))
        self._epoch_lines(rates, RATES)
        lr = self._figure("learning rate", x_range=loss.x_range, y_axis_type="log")
        lr.line("step", "lr", source=self.steps, color="#444444")
        for fig in (loss, quality, rates):
            fig.legend.location = "top_right" if fig is loss else "bottom_right"
            fig.legend.label_text_font_size = "8pt"
            fig.legend.click_policy, fig.legend.background_fill_alpha = "hide", 0.6
            fig.legend.spacing, fig.legend.padding, fig.legend.label_height = 0, 4, 12
            fig.legend.glyph_height, fig.legend.label_standoff = 12, 4
        return [loss, quality, rates, lr]

    def _epoch_lines(self, fig, metrics: dict[str, str]) -> None:
        """Per-epoch train (dashed, squares) and val (solid, circles) series; one legend entry per metric."""
        for name, color in metrics.items():
            for split, style in SPLIT_STYLE.items():
                label = name.replace("_mean", "")
                fig.line("step", f"{split}_{name}", source=self.epochs, color=color, line_dash=style["line_dash"],
                         legend_label=label)
                fig.scatter("step", f"{split}_{name}", source=self.epochs, color=color, marker=style["marker"],
                            size=6, legend_label=label)

    def _heat_strip(self, x_range):
        strip = figure(title="gradient norm per layer (log10)", width=2 * WIDTH, height=STRIP_HEIGHT, x_range=x_range,
                       tools="pan,wheel_zoom,reset,hover", x_axis_label="step",
                       tooltips=[("step", "$x{0}"), ("log10 |grad|", "@image{0.00}")])
        strip.toolbar.logo = None
        strip.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.layers, color_mapper=self.heat_mapper)
        strip.add_layout(ColorBar(color_mapper=self.heat_mapper, width=8), "right")
        strip.grid.visible = False
        return strip

    # ----------------------------------------------------------------- updates
    def append(self, rows: Rows, layer_names: tuple[str, ...] = ()) -> int:
        """Stream the new rows; returns how many sources changed (one patch message each)."""
        changed = 0
        if rows.steps["step"]:
            self.steps.stream(rows.steps)
            changed += 1
        if rows.epochs["step"]:
            self.epochs.stream(rows.epochs)
            changed += 1
        if rows.layer_steps:
            changed += self._append_layers(rows, layer_names)
        return changed

    def _append_layers(self, rows: Rows, layer_names: tuple[str, ...]) -> int:
        """One image glyph row per update: the new samples as an (n_layers, k) block starting at their
        first step, each sample ``spacing`` steps wide (the LayerStats sampling interval)."""
        if layer_names != self.layer_names:
            self._label_layers(layer_names)
        steps, spacing = rows.layer_steps, rows.layer_every
        block = rows.layer_log_norms  # (n_layers, k)
        changed = self._widen_colour_range(block)
        self.layers.stream({"image": [block], "x": [steps[0] - spacing / 2], "y": [0],
                            "dw": [spacing * len(steps)], "dh": [len(layer_names)]})
        return changed + 1

    def _label_layers(self, names: tuple[str, ...]) -> None:
        self.layer_names = names
        self.strip.yaxis.ticker = FixedTicker(ticks=[i + 0.5 for i in range(len(names))])
        self.strip.yaxis.major_label_overrides = {i + 0.5: name for i, name in enumerate(names)}
        self.strip.height = max(STRIP_HEIGHT, 14 * len(names) + 60)

    def _widen_colour_range(self, block: np.ndarray) -> int:
        """Grow the mapper to whole decades covering the data (rarely changes, so rarely sent)."""
        finite = block[np.isfinite(block)]
        if not finite.size:
            return 0
        low = min(self.heat_mapper.low, math.floor(float(finite.min())))
        high = max(self.heat_mapper.high, math.ceil(float(finite.max())))
        if (low, high) == (self.heat_mapper.low, self.heat_mapper.high):
            return 0
        self.heat_mapper.update(low=low, high=high)
        return 1
