"""Write notebooks/lv_gap_cam.ipynb and notebooks/apps/lv_gap_cam.ipynb without outputs (run from the repo root)."""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1]

KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}

cells = [
    new_markdown_cell("# Paper 1: LV segmentation with an interpretable GAP-FCN\n\n"
                      "Liu et al. (CMES 2023): a GAP-FCN trained from scratch on Sunnybrook cine MRI, Dice 94.48 %, "
                      "APD 1.93 mm. This notebook shows the newest report written by "
                      "`medinterp reproduce lv-gap-cam --paper` (or runs a preset here): Table 1 beside ours, Dice "
                      "and APD at native resolution on held-out Sunnybrook / ACDC cases, accuracy vs Dice, the "
                      "DIGITS-style layer table, the Optuna search and the CAM of the LV class with the expert "
                      "contour."),
    new_code_cell('import os\n\nPRESET = None  # None: show the newest report under REPORTS; "quick" / "paper": run it here\n'
                  'REPORTS = os.environ.get("MEDINTERP_REPORTS", "../reports")\n'
                  'DATA_ROOT = None  # None: $MEDINTERP_DATA if set, else synthetic\n'
                  'DEVICE = None\nOUT = os.environ.get("MEDINTERP_OUT", "../reports/lv-gap-cam-notebook")',
                  metadata={"tags": ["parameters"]}),
    new_code_cell("from IPython.display import HTML, Image, display\n\n"
                  "from medinterp_widgets.apps.lv_gap_cam import comparison_html, overlay_browser\n"
                  "from medinterp_widgets.pipelines.lv_gap_cam.artifacts import read_overlays\n"
                  "from medinterp_widgets.pipelines.report import html_table, latest_report, read_report\n"
                  "from medinterp_widgets.resources import data_root\n"
                  "from medinterp_widgets.widgets.bokeh_setup import load_bokehjs\n\n"
                  "load_bokehjs()\n"
                  "folder = latest_report(REPORTS, 'lv-gap-cam') if PRESET is None else None\n"
                  "if folder is None:  # nothing written yet, or a preset asked for: run it here\n"
                  "    from medinterp_widgets.pipelines.lv_gap_cam import Config, run\n\n"
                  "    config = Config.from_preset(PRESET or 'quick', data_root=data_root(DATA_ROOT), device=DEVICE)\n"
                  "    run(config).write(OUT)\n"
                  "    folder = OUT\n"
                  "report, figures = read_report(folder)\n"
                  "print('report:', folder, '| preset:', report['config']['preset'])\n"
                  "display(HTML(comparison_html(report['comparisons'])))"),
    new_markdown_cell("## Table 1 and our validation figures (native resolution)"),
    new_code_cell("tables = report['tables']\n"
                  "for name in tables:\n"
                  "    if name.startswith(('Table 1', 'validation scores', 'pixel accuracy vs Dice', 'hyperparameter')):\n"
                  "        display(HTML(f'<h4>{name}</h4>' + html_table(tables[name])))\n"
                  "metrics = report['metrics']\n"
                  "print({k: metrics[k] for k in ('dice_mean', 'apd_mm_mean', 'paper_dice_mean', 'paper_apd_mm_mean') if k in metrics})"),
    new_markdown_cell("## Curves, accuracy vs Dice, per-slice distributions, CAM overlays"),
    new_code_cell("for name in ('curves_gapfcn', 'accuracy_vs_dice', 'per_slice_distributions', 'cam_overlays', 'sweep_trials'):\n"
                  "    if name in figures:\n"
                  "        display(Image(figures[name]))"),
    new_markdown_cell("## Layer table (DIGITS style): output shape, activation mean / std, parameters, gradient norm"),
    new_code_cell("display(HTML(html_table(tables['layer table (DIGITS style)'])))\n"
                  "print('\\n'.join(report['notes']))"),
    new_markdown_cell("## Interactive: validation slices with truth / prediction labels and the LV CAM"),
    new_code_cell("overlays = read_overlays(folder)\noverlay_browser(overlays) if overlays else None"),
]
nbformat.write(new_notebook(cells=cells, metadata=KERNEL), NOTEBOOKS / "lv_gap_cam.ipynb")
app = [new_code_cell('from medinterp_widgets.apps import build_app\n\nbuild_app("lv-gap-cam")')]
nbformat.write(new_notebook(cells=app, metadata=KERNEL), NOTEBOOKS / "apps" / "lv_gap_cam.ipynb")
