"""The workbench page: a case picker (with a filter box and a count), the slice browser, and below it
the attribution panel (a model from a file (project checkpoint, TorchScript, ONNX) or a demo model
trained on the case, AttributionViewer and LayerViewer tabs). ``model_file`` (``build``: else
``$MEDINTERP_MODEL``, set by ``medinterp app workbench --model FILE``) opens straight onto that model.

Synthetic phantoms are always offered; entries under the data root (``data_root`` argument or
``$MEDINTERP_DATA``) are listed one per volume, series or study (``case_index``), and a typed path is
opened only inside the root. The status line describes the case on screen; a failure says what went
wrong in plain words and keeps the case that was showing.
"""

from __future__ import annotations

import html
import os

import ipywidgets as widgets
import numpy as np
from traitlets import Unicode

from medinterp_widgets.apps.attribution_panel import AttributionPanel
from medinterp_widgets.apps.case_index import index_data_root, summary
from medinterp_widgets.apps.cases import SYNTHETIC_CASES, Case, open_in_root, openable, plain_error
from medinterp_widgets.resources import DATA_ENV, MODEL_ENV
from medinterp_widgets.resources import data_root as find_data_root
from medinterp_widgets.widgets.slice_browser import SliceBrowser, label_names_of

REAL_PREFIX = "data: "


class Workbench(widgets.VBox):
    """The workbench widget tree; ``case`` is the picker's current choice, ``status`` its last message."""

    case = Unicode("")
    status = Unicode("")

    def __init__(self, data_root: str | os.PathLike | None = None, case: str | None = None,
                 runs_dir: str | os.PathLike | None = None, demo_steps: int | None = None,
                 model_file: str | os.PathLike | None = None, **kwargs):
        super().__init__(**kwargs)
        self.root, self.root_problem = self._find_root(data_root)
        self.browser: SliceBrowser | None = None
        self.entries = index_data_root(self.root, openable) if self.root else []
        self.all_options = [(name, name) for name in SYNTHETIC_CASES] + [
            (entry.label, REAL_PREFIX + entry.path) for entry in self.entries]
        self.picker = widgets.Dropdown(options=self.all_options, value=None, description="case",
                                       layout=widgets.Layout(width="640px"))
        self.filter_box = widgets.Text(placeholder="filter cases, e.g. patient003 or sunnybrook", description="filter",
                                       continuous_update=True, layout=widgets.Layout(width="360px"),
                                       disabled=not self.entries)
        self.count_label = widgets.HTML()
        self.count_label.add_class("mi-case-count")
        self.path_box = widgets.Text(placeholder="path inside the data root, e.g. sunnybrook/dicoms/SCD0000101",
                                     description="path", layout=widgets.Layout(width="560px"),
                                     disabled=self.root is None)
        self.open_button = widgets.Button(description="open", disabled=self.root is None)
        self.status_label = widgets.HTML()
        self.browser_area = widgets.VBox(layout=widgets.Layout(flex="0 1 auto"))
        self.attribution = AttributionPanel(self.root, runs_dir, demo_steps=demo_steps, model_file=model_file)
        self.attribution_area = widgets.VBox([self.attribution], layout=widgets.Layout(
            border="1px solid #ccc", padding="8px", margin="12px 0 0 0"))
        self._quiet = False  # set while the picker follows a case opened by path (no second load)
        self.observe(self._show_status, names="status")
        self.picker.observe(self._picked, names="value")
        self.filter_box.observe(lambda change: self.apply_filter(change["new"]), names="value")
        self.observe(self._on_case, names="case")
        self.open_button.on_click(lambda _: self.open_path(self.path_box.value))
        root_text = html.escape(str(self.root) if self.root else self.root_problem or f"none (set ${DATA_ENV})")
        self.children = [
            widgets.HTML("<h3 style='margin:4px 0'>medinterp workbench</h3>"
                         f"<small>data root: {root_text}</small>"),
            self.picker, widgets.HBox([self.filter_box, self.count_label]),
            widgets.HBox([self.path_box, self.open_button]), self.status_label,
            self.browser_area, self.attribution_area,
        ]
        self.add_class("mi-workbench")
        self.apply_filter("")
        keys = [key for _, key in self.all_options]
        self.picker.value = case if case in keys else keys[0]

    @staticmethod
    def _find_root(explicit):
        try:
            return find_data_root(explicit), ""
        except FileNotFoundError as error:
            return None, str(error)

    # -- the case list -----------------------------------------------------------------------------
    def apply_filter(self, text: str) -> None:
        """Offer the synthetic cases and the data entries whose label contains ``text`` (any case)."""
        words = text.strip().lower()
        shown = [option for option in self.all_options
                 if not option[1].startswith(REAL_PREFIX) or words in option[0].lower()]
        current = self.picker.value
        self._quiet = True
        try:
            self.picker.options = shown
            self.picker.value = current if any(key == current for _, key in shown) else None
        finally:
            self._quiet = False
        real = len(shown) - len(SYNTHETIC_CASES)
        if not self.entries:
            self.count_label.value = "<small>no data root: synthetic cases only</small>" if self.root is None \
                else "<small>nothing under the data root opens here</small>"
        else:
            showing = f"; showing {real}" if words else ""
            self.count_label.value = f"<small>{html.escape(summary(self.entries))} under the data root{showing}</small>"

    def _picked(self, change) -> None:
        if not self._quiet:
            self.case = change["new"] or ""

    # -- opening -----------------------------------------------------------------------------------
    def _show_status(self, change) -> None:
        self.status_label.value = f"<span class='mi-status'>{html.escape(change['new'])}</span>"

    def _on_case(self, change) -> None:
        key = change["new"]
        if not key:
            return
        if key in SYNTHETIC_CASES:
            self._load(key, SYNTHETIC_CASES[key])
        elif key.startswith(REAL_PREFIX):
            self.open_path(key[len(REAL_PREFIX):])

    def open_path(self, relative: str) -> bool:
        """Open ``relative`` inside the data root; refusals and reader errors go to ``status``."""
        relative = relative.strip()
        if self.root is None:
            self.status = f"could not open {relative}: there is no data root (set ${DATA_ENV} or pass data_root)"
            return False
        if not self._load(relative, lambda: open_in_root(self.root, relative)):
            return False
        key = REAL_PREFIX + relative.rstrip("/")
        self._follow_picker(key if any(k == key for _, k in self.all_options) else None)
        return True

    def _follow_picker(self, key: str | None) -> None:
        """Show ``key`` in the picker (None: a case that has no entry) without opening it again."""
        self._quiet = True
        try:
            if key is not None and not any(k == key for _, k in self.picker.options):
                self.filter_box.value = ""
            self.picker.value = key
            self.set_trait("case", key or "")
        finally:
            self._quiet = False

    def _load(self, label: str, build) -> bool:
        """Build the case and show it in a new SliceBrowser; on any error keep the current one."""
        try:
            case: Case = build()
            browser = SliceBrowser(case.volume, case.masks, case.heatmaps, title=case.name,
                                   label_names=case.label_names, axis=case.axis)
        except Exception as error:  # reader missing, file broken, path refused: say so, keep going
            shown = f" (still showing {self.browser.image.figure.title.text})" if self.browser is not None else ""
            self.status = plain_error(error, label, self.root) + shown
            return False
        if self.browser is not None:
            self.browser.close()
        self.browser = browser
        self.browser_area.children = [browser]
        self.attribution.show(browser, case.label_names)
        self.status = describe_case(case)
        return True


def describe_case(case: Case, shown_labels: int = 6) -> str:
    """One line about the case on screen: name, shape, value type and its label classes."""
    volume = case.volume
    shape = " x ".join(f"{n} {a}" for n, a in zip(volume.array.shape, volume.axes))
    if case.masks is None:
        return f"{case.name}: {shape} ({volume.array.dtype}); no labels"
    names = label_names_of(volume, case.label_names)
    present = [names.get(int(k), f"label {k}") for k in np.unique(case.masks) if k > 0]
    more = f" and {len(present) - shown_labels} more" if len(present) > shown_labels else ""
    return f"{case.name}: {shape} ({volume.array.dtype}); labels: {', '.join(present[:shown_labels])}{more}"


def build(data_root: str | os.PathLike | None = None, case: str | None = None,
          runs_dir: str | os.PathLike | None = None, demo_steps: int | None = None,
          model_file: str | os.PathLike | None = None) -> Workbench:
    """The workbench app (``build_app("workbench", data_root=..., case=..., runs_dir=..., model_file=...)``);
    ``model_file`` None: ``$MEDINTERP_MODEL`` when set."""
    return Workbench(data_root=data_root, case=case, runs_dir=runs_dir, demo_steps=demo_steps,
                     model_file=model_file or os.environ.get(MODEL_ENV) or None)
