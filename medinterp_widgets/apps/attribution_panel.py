"""The workbench's attribution panel: pick a model (a project checkpoint, TorchScript archive or ONNX file
under the data root or a runs folder, a file the user named (``model_file``: ``medinterp app workbench
--model FILE``), or a small demo model trained on the current case, with a progress bar), then explain
what the workbench shows (AttributionViewer, targets named by the case's class names) and look inside the
model (LayerViewer, second tab; not for TorchScript / ONNX, which cannot be hooked). A 2-D model explains
the slice shown; a 3-D model explains the whole volume (one frame), shown in the viewer's own slice
browser on all three axes. A checkpoint of a model class outside the registry loads only after the user
confirms "this runs code from module X". Messages belong to the case on screen."""

from __future__ import annotations

import html
import os
import time
from pathlib import Path

import ipywidgets as widgets
from torch import nn

from medinterp_widgets.apps.cases import plain_error
from medinterp_widgets.apps.demo_model import (
    DEMO_LAYER,
    DEMO_SIDE,
    DEMO_STEPS,
    find_checkpoints,
    load_model,
    slice_sample,
    train_demo_model,
    volume_sample,
)
from medinterp_widgets.attribution import model_access
from medinterp_widgets.data.errors import UntrustedModelError
from medinterp_widgets.models import trust_model_module
from medinterp_widgets.training.model_files import input_channels, input_dims, model_kind, open_model_file
from medinterp_widgets.widgets.attribution_viewer import AttributionViewer
from medinterp_widgets.widgets.browser_controls import error_html
from medinterp_widgets.widgets.layer_viewer import LayerViewer
from medinterp_widgets.widgets.slice_browser import SliceBrowser

RUNS_ENV = "MEDINTERP_RUNS"
NO_ROOTS_HINT = ("loading a checkpoint needs a data root or a runs folder to load from: set $MEDINTERP_DATA or "
                 f"${RUNS_ENV} (or pass data_root / runs_dir) and restart the app")
PROGRESS_INTERVAL_S = 0.1


class AttributionPanel(widgets.VBox):
    """Model picker + AttributionViewer / LayerViewer tabs for the slice of ``browser`` (see ``show``)."""

    def __init__(self, data_root: Path | None = None, runs_dir: str | os.PathLike | None = None,
                 demo_steps: int | None = None, model_file: str | os.PathLike | None = None, **kwargs):
        super().__init__(**kwargs)
        self.roots = [r for r in (data_root, runs_dir or os.environ.get(RUNS_ENV)) if r]
        self.demo_steps = demo_steps or DEMO_STEPS
        self.model: nn.Module | None = None
        self.model_name = ""
        self.load_error = ""  # why the last model file did not load (shown until a model loads)
        self.named_files: set[Path] = set()  # files the user named (model_file): opened wherever they are
        self.model_layer: str | None = None  # the layer the model is explained at first (None: the engine's)
        self.model_classes: list[str] | None = None
        self.input_side: int | None = None  # the demo model sees shrunk slices
        self.browser: SliceBrowser | None = None
        self.class_names: dict[int, str] = {}
        self.viewer: AttributionViewer | None = None
        self.layers: LayerViewer | None = None
        self.checkpoints = widgets.Combobox(options=[str(p) for p in find_checkpoints(*self.roots)],
                                            placeholder="model file (.pt, .ts, .onnx) path", description="model",
                                            layout=widgets.Layout(width="420px"), ensure_option=False,
                                            disabled=not self.roots)
        self.checkpoints.add_class("mi-model-box")
        self.load_button = widgets.Button(description="load", disabled=not self.roots,
                                          tooltip="" if self.roots else NO_ROOTS_HINT)
        self.demo_button = widgets.Button(description="train a demo model", button_style="info",
                                          layout=widgets.Layout(width="180px"),
                                          tooltip=f"a small GapFCN, {self.demo_steps} steps on this case's labels")
        self.progress = widgets.IntProgress(min=0, max=self.demo_steps, description="training",
                                            layout=widgets.Layout(width="420px", display="none"))
        self.progress.add_class("mi-demo-progress")
        self.trust_button = widgets.Button(button_style="danger", layout=widgets.Layout(width="auto", display="none"))
        self.trust_button.on_click(lambda _: self.trust_and_load())
        self._pending_trust: tuple[str, str] | None = None  # (checkpoint, module) awaiting the user's yes
        self.hint = widgets.HTML("" if self.roots else f"<small>{html.escape(NO_ROOTS_HINT)}</small>")
        self.hint.add_class("mi-checkpoint-hint")
        self.message = widgets.HTML()
        self.message.add_class("mi-attribution-status")
        self._say_idle()
        self.tabs = widgets.Tab(children=[widgets.HTML(""), widgets.HTML("")])
        self.tabs.titles = ("attribution", "layers")
        self.load_button.on_click(lambda _: self.load(self.checkpoints.value))
        self.demo_button.on_click(lambda _: self.train_demo())
        self.children = [widgets.HTML("<b>Attribution</b>"),
                         widgets.HBox([self.checkpoints, self.load_button, self.demo_button]), self.hint,
                         self.progress, self.message, self.trust_button, self.tabs]
        self.add_class("mi-attribution-panel")
        if model_file:
            self.open_file(model_file)

    # -- the model ---------------------------------------------------------------------------------
    def open_file(self, path: str | os.PathLike) -> bool:
        """Open a model file the user named (command line or Python), wherever it is; errors go to the message."""
        resolved = Path(path).expanduser().resolve()
        self.named_files.add(resolved)
        self.checkpoints.value = str(resolved)
        return self.load(str(resolved))

    def load(self, path: str) -> bool:
        """Load a model file (confined to the data root / runs folder unless the user named it); errors go to
        the message.

        A checkpoint of a class from a module nobody trusted yet is not loaded: the panel says which
        module's code loading it would run and shows a "trust <module> and load" button.
        """
        self._show_trust(None)
        try:
            named = Path(path).expanduser().resolve() in self.named_files
            model = open_model_file(path) if named else load_model(path, self.roots)
        except UntrustedModelError as error:
            if error.module:
                self._show_trust((path, error.module))
                return self._load_failed(f"{path}: this checkpoint's model class is not registered: loading it "
                                         f"runs code from module {error.module}. Load it only if you trust that code.")
            return self._load_failed(plain_error(error, path))
        except Exception as error:
            return self._load_failed(plain_error(error, path))
        return self.set_model(model, f"{model_kind(model)} model {Path(path).name}")

    def trust_and_load(self) -> bool:
        """The user confirmed: trust the pending module (``models.trust_model_module``), then load again."""
        if self._pending_trust is None:
            return False
        path, module = self._pending_trust
        try:
            trust_model_module(module)
        except Exception as error:
            self._show_trust(None)
            return self._say(f"module {module}: {error}", error=True)
        return self.load(path)

    def _show_trust(self, pending: tuple[str, str] | None) -> None:
        self._pending_trust = pending
        self.trust_button.description = f"this runs code from module {pending[1]}: trust it and load" if pending else ""
        self.trust_button.layout.display = "" if pending else "none"

    def train_demo(self) -> bool:
        """Train the demo GapFCN on the current case for a fixed number of steps (progress bar), then explain it."""
        if self.browser is None:
            return self._say("open a case first", error=True)
        self._say(f"training a demo GapFCN on this case's labels: {self.demo_steps} steps")
        self.demo_button.disabled = True
        self.progress.value, self.progress.layout.display = 0, ""
        last = [0.0]

        def show_progress(step: int, steps: int, loss: float) -> None:
            if step == steps or time.monotonic() - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = time.monotonic()
                self.progress.value, self.progress.description = step, f"step {step}/{steps}"

        try:
            model, summary = train_demo_model(self.browser.volume, self.browser.masks, axis=self.browser.axis,
                                              steps=self.demo_steps, progress=show_progress)
        except Exception as error:
            return self._say(f"demo model: {error}", error=True)
        finally:
            self.demo_button.disabled = False
            self.progress.layout.display = "none"
        name = f"demo GapFCN ({summary['steps']} steps on {summary['slices']} slices, loss {summary['loss']:.3f})"
        classes = [self.class_names.get(k, f"class {k}") for k in range(model.cam_head.out_features)]
        return self.set_model(model, name, layer=DEMO_LAYER, input_side=DEMO_SIDE, class_names=classes)

    def set_model(self, model: nn.Module, name: str, layer: str | None = None, input_side: int | None = None,
                  class_names: list[str] | None = None) -> bool:
        """Explain ``model``: first at ``layer``, inputs shrunk to about ``input_side`` pixels when given, its
        classes named ``class_names`` (the demo model's classes are the case's labels)."""
        self.model, self.model_name, self.model_classes, self.load_error = model.eval(), name, class_names, ""
        self.model_layer, self.input_side = layer, input_side
        self._rebuild()
        return self.viewer is not None

    # -- the sample --------------------------------------------------------------------------------
    def show(self, browser: SliceBrowser | None, class_names: dict[int, str] | None = None) -> None:
        """Follow ``browser`` (a newly opened case): explain its current slice now and whenever the slice,
        view or frame changes; ``class_names`` name the target classes."""
        if self.browser is not None:
            self.browser.unobserve(self._slice_changed, names=["slice_index", "axis", "frame"])
        self.browser = browser
        self.class_names = dict(class_names or (browser.label_names if browser is not None else {}))
        if browser is not None:
            browser.observe(self._slice_changed, names=["slice_index", "axis", "frame"])
        self._say_idle()
        self._rebuild()

    def _sample(self):
        """A 2-D model: the slice shown (shrunk to about ``input_side``); a 3-D model: the whole volume of the
        frame shown."""
        browser, channels = self.browser, input_channels(self.model)
        if input_dims(self.model) == 3:
            return volume_sample(browser.volume, browser.masks, browser.frame, channels)
        return slice_sample(browser.volume, browser.masks, browser.axis, browser.slice_index, browser.frame, channels,
                            side=self.input_side)

    def _slice_changed(self, change) -> None:
        if self.viewer is None or (input_dims(self.model) == 3 and change["name"] != "frame"):
            return  # a 3-D model's map covers the volume: the viewer's own browser follows slices and axes
        try:
            x, masks, volume = self._sample()
            self.viewer.set_sample(x, masks=masks, volume=volume)
            self._say_model()
        except Exception as error:
            self._say(f"could not explain this slice: {error}", error=True)

    def _rebuild(self) -> None:
        if self.model is None or self.browser is None:
            return
        for old in (self.viewer, self.layers):
            if old is not None:
                old.close()
        self.viewer = self.layers = None
        try:
            x, masks, volume = self._sample()
            self.viewer = AttributionViewer(self.model, x, masks=masks, volume=volume, layer=self.model_layer,
                                            class_names=self.model_classes)
            self.layers = LayerViewer(self.model, x) if model_access(self.model).hooks else None
        except Exception as error:  # a model that does not fit this case: say so, keep the page alive
            self.tabs.children = [widgets.HTML(""), widgets.HTML("")]
            self._say(f"{self.model_name} cannot explain this case: {error}", error=True)
            return
        no_layers = widgets.HTML(f"<i>{html.escape(model_kind(self.model))} models cannot be hooked, so their "
                                 "layers cannot be shown</i>")
        self.tabs.children = [self.viewer, self.layers or no_layers]
        self.tabs.titles = ("attribution", "layers")
        self._say_model()

    def _say_model(self) -> None:
        if input_dims(self.model) == 3:
            return self._say(f"{self.model_name}, explaining the whole volume of the frame shown")
        shrunk = f"; it sees the slice shrunk to about {self.input_side} px" if self.input_side else ""
        self._say(f"{self.model_name}, explaining the slice shown above{shrunk}")

    def _load_failed(self, text: str) -> bool:
        """A model file that did not load: say why, and keep saying it until a model loads (a new case too)."""
        self.load_error = text
        return self._say(text, error=True)

    def _say_idle(self) -> None:
        if self.model is None and self.load_error:
            self._say(self.load_error, error=True)
        elif self.model is None:
            self.message.value = "<i>load a checkpoint or train a demo model to see attribution maps</i>"

    def _say(self, text: str, error: bool = False) -> bool:
        self.message.value = error_html(text) if error else f"<span>{html.escape(text)}</span>"
        return not error
