"""The workbench page: a data picker, the slice browser, and below it the attribution panel (a model
from a file (project checkpoint, TorchScript, ONNX) or a demo model trained on the case, AttributionViewer and
LayerViewer tabs). ``model_file`` (``build``: else ``$MEDINTERP_MODEL``, set by ``medinterp app workbench
--model FILE``) opens straight onto that model.

Synthetic phantoms are always offered; entries under the data root (``data_root`` argument or
``$MEDINTERP_DATA``) are listed when there is one, and a typed path is opened only inside it.
"""

from __future__ import annotations

import html
import os

import ipywidgets as widgets
from traitlets import Unicode

from medinterp_widgets.apps.attribution_panel import AttributionPanel
from medinterp_widgets.apps.cases import SYNTHETIC_CASES, Case, open_in_root, scan_data_root
from medinterp_widgets.resources import DATA_ENV, MODEL_ENV, data_root as find_data_root
from medinterp_widgets.widgets.slice_browser import SliceBrowser

REAL_PREFIX = "data: "


class Workbench(widgets.VBox):
    """The workbench widget tree; ``case`` is the picker's current choice, ``status`` its last message."""

    case = Unicode("")
    status = Unicode("")

    def __init__(self, data_root: str | os.PathLike | None = None, case: str | None = None,
                 runs_dir: str | os.PathLike | None = None, demo_seconds: float = 8.0,
                 demo_steps: int | None = None, model_file: str | os.PathLike | None = None, **kwargs):
        super().__init__(**kwargs)
        self.root, self.root_problem = self._find_root(data_root)
        self.browser: SliceBrowser | None = None
        options = list(SYNTHETIC_CASES) + [REAL_PREFIX + e for e in (scan_data_root(self.root) if self.root else [])]
        self.picker = widgets.Dropdown(options=options, value=None, description="case",
                                       layout=widgets.Layout(width="560px"))
        self.path_box = widgets.Text(placeholder="path inside the data root, e.g. sunnybrook/dicoms/SCD0000101",
                                     description="path", layout=widgets.Layout(width="560px"),
                                     disabled=self.root is None)
        self.open_button = widgets.Button(description="open", disabled=self.root is None)
        self.status_label = widgets.HTML()
        self.browser_area = widgets.VBox(layout=widgets.Layout(flex="0 1 auto"))
        self.attribution = AttributionPanel(self.root, runs_dir, demo_seconds=demo_seconds, demo_steps=demo_steps,
                                            model_file=model_file)
        self.attribution_area = widgets.VBox([self.attribution], layout=widgets.Layout(
            border="1px solid #ccc", padding="8px", margin="12px 0 0 0"))
        self.observe(self._show_status, names="status")
        self.picker.observe(lambda change: setattr(self, "case", change["new"] or ""), names="value")
        self.observe(self._on_case, names="case")
        self.open_button.on_click(lambda _: self.open_path(self.path_box.value))
        root_text = html.escape(str(self.root) if self.root else self.root_problem or f"none (set ${DATA_ENV})")
        self.children = [
            widgets.HTML("<h3 style='margin:4px 0'>medinterp workbench</h3>"
                         f"<small>data root: {root_text}</small>"),
            self.picker, widgets.HBox([self.path_box, self.open_button]), self.status_label,
            self.browser_area, self.attribution_area,
        ]
        self.add_class("mi-workbench")
        self.picker.value = case if case in options else options[0]

    @staticmethod
    def _find_root(explicit):
        try:
            return find_data_root(explicit), ""
        except FileNotFoundError as error:
            return None, str(error)

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
        if self.root is None:
            self.status = "no data root: set $MEDINTERP_DATA or pass data_root"
            return False
        return self._load(relative, lambda: open_in_root(self.root, relative))

    def _load(self, label: str, build) -> bool:
        """Build the case and show it in a new SliceBrowser; on any error keep the current one."""
        try:
            case: Case = build()
            browser = SliceBrowser(case.volume, case.masks, case.heatmaps, title=case.name)
        except Exception as error:  # reader missing, file broken, path refused: say so, keep going
            self.status = f"{label}: {type(error).__name__}: {error}"
            return False
        if self.browser is not None:
            self.browser.close()
        self.browser = browser
        self.browser_area.children = [browser]
        self.attribution.show(browser)
        shape = "x".join(map(str, case.volume.array.shape))
        self.status = f"{case.name}: {shape} {case.volume.array.dtype}, axes {''.join(case.volume.axes)}"
        return True


def build(data_root: str | os.PathLike | None = None, case: str | None = None,
          runs_dir: str | os.PathLike | None = None, demo_seconds: float = 8.0,
          demo_steps: int | None = None, model_file: str | os.PathLike | None = None) -> Workbench:
    """The workbench app (``build_app("workbench", data_root=..., case=..., runs_dir=..., model_file=...)``);
    ``model_file`` None: ``$MEDINTERP_MODEL`` when set."""
    return Workbench(data_root=data_root, case=case, runs_dir=runs_dir, demo_seconds=demo_seconds,
                     demo_steps=demo_steps, model_file=model_file or os.environ.get(MODEL_ENV) or None)
