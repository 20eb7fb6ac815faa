"""The workbench's attribution panel: pick a model (a checkpoint under the data root or a runs folder,
or a tiny demo model trained on the current case), then explain the slice the workbench shows
(AttributionViewer) and look inside the model (LayerViewer, second tab). A checkpoint of a model class
outside the registry loads only after the user confirms "this runs code from module X"."""

from __future__ import annotations

import html
import os
from pathlib import Path

import ipywidgets as widgets
from torch import nn

from medinterp_widgets.apps.demo_model import find_checkpoints, load_model, slice_sample, train_demo_model
from medinterp_widgets.data.errors import UntrustedModelError
from medinterp_widgets.models import trust_model_module
from medinterp_widgets.widgets.attribution_viewer import AttributionViewer
from medinterp_widgets.widgets.browser_controls import error_html
from medinterp_widgets.widgets.layer_viewer import LayerViewer
from medinterp_widgets.widgets.slice_browser import SliceBrowser

RUNS_ENV = "MEDINTERP_RUNS"


class AttributionPanel(widgets.VBox):
    """Model picker + AttributionViewer / LayerViewer tabs for the slice of ``browser`` (see ``show``)."""

    def __init__(self, data_root: Path | None = None, runs_dir: str | os.PathLike | None = None,
                 demo_seconds: float = 8.0, demo_steps: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.roots = [r for r in (data_root, runs_dir or os.environ.get(RUNS_ENV)) if r]
        self.demo_seconds = demo_seconds
        self.demo_steps = demo_steps
        self.model: nn.Module | None = None
        self.model_name = ""
        self.browser: SliceBrowser | None = None
        self.viewer: AttributionViewer | None = None
        self.layers: LayerViewer | None = None
        self.checkpoints = widgets.Combobox(options=[str(p) for p in find_checkpoints(*self.roots)], placeholder="checkpoint (.pt) path",
                                            description="model", layout=widgets.Layout(width="420px"),
                                            ensure_option=False)
        self.load_button = widgets.Button(description="load", disabled=not self.roots)
        self.demo_button = widgets.Button(description="train a demo model", button_style="info",
                                          layout=widgets.Layout(width="180px"))
        self.trust_button = widgets.Button(button_style="danger", layout=widgets.Layout(width="auto", display="none"))
        self.trust_button.on_click(lambda _: self.trust_and_load())
        self._pending_trust: tuple[str, str] | None = None  # (checkpoint, module) awaiting the user's yes
        self.message = widgets.HTML("<i>load a checkpoint or train a demo model to see attribution maps</i>")
        self.message.add_class("mi-attribution-status")
        self.tabs = widgets.Tab(children=[widgets.HTML(""), widgets.HTML("")])
        self.tabs.titles = ("attribution", "layers")
        self.load_button.on_click(lambda _: self.load(self.checkpoints.value))
        self.demo_button.on_click(lambda _: self.train_demo())
        self.children = [widgets.HTML("<b>Attribution</b>"),
                         widgets.HBox([self.checkpoints, self.load_button, self.demo_button]),
                         self.message, self.trust_button, self.tabs]
        self.add_class("mi-attribution-panel")

    # -- the model ---------------------------------------------------------------------------------
    def load(self, path: str) -> bool:
        """Load a checkpoint (confined to the data root / runs folder); errors go to the message.

        A checkpoint of a class from a module nobody trusted yet is not loaded: the panel says which
        module's code loading it would run and shows a "trust <module> and load" button.
        """
        self._show_trust(None)
        try:
            model = load_model(path, self.roots)
        except UntrustedModelError as error:
            if error.module:
                self._show_trust((path, error.module))
                return self._say(f"{path}: this checkpoint's model class is not registered: loading it runs code "
                                 f"from module {error.module}. Load it only if you trust that code.", error=True)
            return self._say(f"{path}: {type(error).__name__}: {error}", error=True)
        except Exception as error:
            return self._say(f"{path}: {type(error).__name__}: {error}", error=True)
        return self.set_model(model, f"checkpoint {Path(path).name}")

    def trust_and_load(self) -> bool:
        """The user confirmed: trust the pending module (``models.trust_model_module``), then load again."""
        if self._pending_trust is None:
            return False
        path, module = self._pending_trust
        try:
            trust_model_module(module)
        except Exception as error:
            self._show_trust(None)
            return self._say(f"module {module}: {type(error).__name__}: {error}", error=True)
        return self.load(path)

    def _show_trust(self, pending: tuple[str, str] | None) -> None:
        self._pending_trust = pending
        self.trust_button.description = f"this runs code from module {pending[1]}: trust it and load" if pending else ""
        self.trust_button.layout.display = "" if pending else "none"

    def train_demo(self) -> bool:
        """Train a tiny GapFCN on the current case for ``demo_seconds`` and explain it."""
        if self.browser is None:
            return self._say("open a case first", error=True)
        self._say(f"training a demo GapFCN for {self.demo_seconds:g} s …")
        self.demo_button.disabled = True
        try:
            model, summary = train_demo_model(self.browser.volume, self.browser.masks, frame=self.browser.frame,
                                              seconds=self.demo_seconds, max_steps=self.demo_steps)
        except Exception as error:
            return self._say(f"demo model: {type(error).__name__}: {error}", error=True)
        finally:
            self.demo_button.disabled = False
        name = f"demo GapFCN ({summary['steps']} steps, {summary['seconds']} s, loss {summary['loss']:.3f})"
        return self.set_model(model, name)

    def set_model(self, model: nn.Module, name: str) -> bool:
        self.model, self.model_name = model.eval(), name
        self._rebuild()
        return self.viewer is not None

    # -- the sample --------------------------------------------------------------------------------
    def show(self, browser: SliceBrowser | None) -> None:
        """Follow ``browser``: explain its current slice now and whenever the slice or frame changes."""
        if self.browser is not None:
            self.browser.unobserve(self._slice_changed, names=["slice_index", "axis", "frame"])
        self.browser = browser
        if browser is not None:
            browser.observe(self._slice_changed, names=["slice_index", "axis", "frame"])
        self._rebuild()

    def _sample(self):
        browser = self.browser
        channels = getattr(self.model, "in_channels", 1)
        return slice_sample(browser.volume, browser.masks, browser.axis, browser.slice_index, browser.frame, channels)

    def _slice_changed(self, change) -> None:
        if self.viewer is None:
            return
        try:
            x, masks, volume = self._sample()
            self.viewer.set_sample(x, masks=masks, volume=volume)
        except Exception as error:
            self._say(f"slice: {type(error).__name__}: {error}", error=True)

    def _rebuild(self) -> None:
        if self.model is None or self.browser is None:
            return
        for old in (self.viewer, self.layers):
            if old is not None:
                old.close()
        self.viewer = self.layers = None
        try:
            x, masks, volume = self._sample()
            self.viewer = AttributionViewer(self.model, x, masks=masks, volume=volume)
            self.layers = LayerViewer(self.model, x)
        except Exception as error:  # a model that does not fit this case: say so, keep the page alive
            self.tabs.children = [widgets.HTML(""), widgets.HTML("")]
            self._say(f"{self.model_name}: {type(error).__name__}: {error}", error=True)
            return
        self.tabs.children = [self.viewer, self.layers]
        self.tabs.titles = ("attribution", "layers")
        self._say(f"{self.model_name} on slice {self.browser.slice_index} ({self.browser.axis})")

    def _say(self, text: str, error: bool = False) -> bool:
        self.message.value = error_html(text) if error else f"<span>{html.escape(text)}</span>"
        return not error
