"""Paper 3 app: the heatmap-loss report (ours vs the thesis, statistics, ACDC, figures) and a map browser.

``build(report_dir=None)`` shows a written report folder (``medinterp reproduce heatmap-loss --paper``);
among the heatmap-loss reports beside it the ``--paper`` one is preferred, and a picker switches between
them. "browse maps" loads a group's first kept model from the report's checkpoints, regenerates its
synthetic test split from the report's config and shows the test images with heart masks and the
model's HiResCAM maps. "run smoke preset" trains the tiny smoke study in the kernel (seconds).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from medinterp_widgets.pipelines.report import comparisons_html, html_table, read_report, tables_html
from medinterp_widgets.widgets.report_views import figure_panels, report_html
from medinterp_widgets.widgets.slice_browser import SliceBrowser

SMOKE_STUDIES = ("exp2:ce", "exp2:hirescam")
REPORT_PREFIX = "heatmap-loss"


def report_folders(report_dir: str | Path | None) -> list[Path]:
    """``report_dir`` and the heatmap-loss report folders beside it, the ``--paper`` ones first."""
    if report_dir is None:
        return []
    given = Path(report_dir)
    siblings = sorted(p for p in given.parent.glob(f"{REPORT_PREFIX}*") if (p / "report.json").is_file())
    folders = list(dict.fromkeys([given, *siblings]))
    return sorted(folders, key=lambda p: (_preset(p) != "paper", folders.index(p)))


def _preset(folder: Path) -> str | None:
    try:
        return json.loads((folder / "report.json").read_text()).get("config", {}).get("preset")
    except (OSError, ValueError):
        return None


def overlay_browser(volume: np.ndarray, heart: np.ndarray, maps: np.ndarray, title: str) -> SliceBrowser:
    """Slice browser over test images (N, H, W) with heart masks and one model's maps."""
    return SliceBrowser(volume, masks=heart.astype(np.uint8), heatmaps=maps, title=title)


def maps_of_written_model(payload: dict, group: str, count: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(test images, heart masks, HiResCAM maps, title) of ``group``'s first kept model in a written report."""
    import torch

    from medinterp_widgets.pipelines.heatmap_loss import Config, load_study_data
    from medinterp_widgets.pipelines.heatmap_loss.study import evaluation_maps
    from medinterp_widgets.training.checkpoints import model_from_checkpoint

    rows = payload["tables"][f"{group} models"]
    row = next((r for r in rows if r.get("kept")), rows[0])
    entry = payload["checkpoints"][f"{group} model {row['model']}"]
    known = {k: v for k, v in payload["config"].items() if k in Config.__dataclass_fields__ and k != "preset"}
    config = Config(**{**known, "n_train": 1, "n_val": 1, "n_test": count, "studies": (f"{group}",)})
    data = load_study_data(group.partition(":")[0], config)
    maps = evaluation_maps(model_from_checkpoint(entry["path"]), data.test, "hirescam", torch.device("cpu"))
    return (data.test.images[:, 0].numpy(), data.test.heart.numpy(), maps.numpy(),
            f"{group} model {row['model']}: HiResCAM maps")


def report_view(payload: dict, figures: dict[str, bytes]) -> widgets.Widget:
    """Tabs: ours vs the thesis + statistics, ACDC, per-model tables, figures, notes."""
    tables = payload.get("tables", {})
    comparisons = comparisons_html(payload.get("comparisons", []), "Ours beside the thesis (its conventions)")
    statistics = html_table(tables.get("statistics", []))
    acdc = html_table(tables.get("acdc", [])) or "<i>no ACDC arm in this report</i>"
    models = tables_html({name: rows for name, rows in tables.items() if name.endswith(" models")})
    notes = "<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in payload.get("notes", [])) + "</ul>"
    tabs = widgets.Tab([report_html(f"{comparisons}<h4>Statistics</h4>{statistics}"), report_html(acdc),
                        report_html(models), widgets.VBox(figure_panels(figures, "760px")), report_html(notes)])
    for index, title in enumerate(("comparison", "ACDC", "models", "figures", "notes")):
        tabs.set_title(index, title)
    return tabs


class HeatmapLossApp(widgets.VBox):
    """Header, report picker + run button + status, report area, map browser (group picker + browser)."""

    def __init__(self, report_dir: str | Path | None = None, **kwargs):
        super().__init__(**kwargs)
        self.results, self.payload = None, None
        self.status = widgets.HTML()
        folders = report_folders(report_dir)
        self.report_picker = widgets.Dropdown(description="report", options=[(f.name, str(f)) for f in folders],
                                              disabled=not folders)
        self.run_button = widgets.Button(description="run smoke preset", icon="play")
        self.run_button.on_click(lambda _: self.run_smoke())
        self.report_area = widgets.VBox()
        self.group_picker = widgets.Dropdown(description="group", options=[], disabled=True)
        self.browse_button = widgets.Button(description="browse maps", icon="eye", disabled=True)
        self.browse_button.on_click(lambda _: self.show_overlay())
        self.overlay_area = widgets.VBox()
        self.overlay_section = widgets.VBox(
            [widgets.HTML("<h4>Test images: heart mask and a model's HiResCAM maps</h4>"),
             widgets.HBox([self.group_picker, self.browse_button]), self.overlay_area],
            layout=widgets.Layout(display="none"))  # shown once there are models to browse
        self.children = [
            widgets.HTML("<h3 style='margin:4px 0'>Paper 3: heatmap loss (HiResCAM / Grad-CAM inside the "
                         "training loss)</h3>"),
            widgets.HBox([self.report_picker, self.run_button, self.status]), self.report_area, self.overlay_section]
        self.report_picker.observe(lambda change: self.open_report(change.new), names="value")
        if folders:
            self.open_report(self.report_picker.value)
        else:
            self.status.value = "<i>no report folder given: run the smoke preset to see one</i>"

    def open_report(self, folder: str) -> None:
        """Show a written report; its synthetic groups become browsable when their checkpoints exist."""
        payload, figures = read_report(folder)
        self.payload, self.results = payload, None
        self.report_area.children = [report_view(payload, figures)]
        groups = [name.removesuffix(" models") for name in payload.get("tables", {})
                  if name.endswith(" models") and not name.startswith("acdc")]
        saved = {name: Path(entry["path"]).is_file() for name, entry in payload.get("checkpoints", {}).items()}
        browsable = [g for g in groups if any(ok for name, ok in saved.items() if name.startswith(f"{g} model"))]
        self._set_groups(browsable)
        self.status.value = f"report: {html.escape(str(folder))}" + ("" if browsable else
                                                                     " <i>(run the smoke preset to browse maps)</i>")

    def _set_groups(self, groups: list[str]) -> None:
        self.group_picker.options = groups
        self.group_picker.value = groups[0] if groups else None  # an empty Dropdown given options keeps None
        self.group_picker.disabled = self.browse_button.disabled = not groups
        self.overlay_section.layout.display = None if groups else "none"
        for old in self.overlay_area.children:
            old.close()
        self.overlay_area.children = []

    def run_smoke(self, **overrides) -> None:
        """Train the smoke study here, then show its report and its maps."""
        from medinterp_widgets.pipelines.heatmap_loss import Config, build_report, run_studies

        self.status.value = "training the smoke study ..."
        self.run_button.disabled = True
        try:
            self.results = run_studies(Config.from_preset("smoke", **{"studies": SMOKE_STUDIES, **overrides}))
            report = build_report(self.results)
            self.payload = None
            self.report_area.children = [report_view(report.to_json(), report.figures)]
            self._set_groups([f"{d}:{loss}" for d, losses in self.results.groups.items() for loss in losses])
            self.show_overlay()
            self.status.value = "done"
        except Exception as error:  # shown in the page, not lost in the kernel log
            self.status.value = f"<b style='color:#b00'>{type(error).__name__}: {html.escape(str(error))}</b>"
        finally:
            self.run_button.disabled = False

    def show_overlay(self) -> None:
        """The map browser of the picked group (trained here, or loaded from the written report)."""
        group = self.group_picker.value
        if not group:
            return
        if self.results is not None:
            dataset, loss = group.split(":")
            data, model = self.results.data[dataset], self.results.groups[dataset][loss][0]
            from medinterp_widgets.pipelines.heatmap_loss.study import example_indices

            index = example_indices(data.test.labels, model.maps.shape[0])
            view = (data.test.images[index, 0].numpy(), data.test.heart[index].numpy(), model.maps,
                    f"{group} model 0: HiResCAM maps (two test images per class)")
        else:
            view = maps_of_written_model(self.payload, group)
        for old in self.overlay_area.children:
            old.close()
        self.overlay_area.children = [overlay_browser(*view)]


def build(report_dir: str | Path | None = None, **kwargs) -> widgets.Widget:
    """The heatmap-loss page; ``report_dir``: a folder written by ``medinterp reproduce heatmap-loss``."""
    return HeatmapLossApp(report_dir=report_dir, **kwargs)
