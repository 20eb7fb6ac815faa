"""Write notebooks/covid_interp.ipynb and notebooks/apps/covid_interp.ipynb (no outputs).

    python notebooks/tools/make_covid_interp.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1]
KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}

PARAMETERS = '''import os

PRESET = "quick"  # "smoke" (seconds), "quick" (about a minute on 2 CPU cores) or "full" (GPU)
DATA_ROOT = None  # None: $MEDINTERP_DATA if set, else synthetic images
DEVICE = None  # None: automatic
OUT = os.environ.get("MEDINTERP_OUT", "reports/covid-interp")'''

RUN = '''from medinterp_widgets.pipelines.covid_interp import Config, run
from medinterp_widgets.resources import data_root

config = Config.from_preset(PRESET, data_root=data_root(DATA_ROOT), device=DEVICE)
report = run(config)
page = report.write(OUT)
print("report:", page)'''

TABLES = '''from IPython.display import HTML, display

from medinterp_widgets.pipelines.report import comparisons_html, tables_html
from medinterp_widgets.widgets.report_views import report_markup

shown = ("Table 1: test rates, mean ± sd over folds (%)", "Embedding separation (silhouette, 2-D)")
display(HTML(report_markup(comparisons_html(report.to_json()["comparisons"])
                           + tables_html({name: report.tables[name] for name in shown}))))
for note in report.notes:
    print("-", note)'''

FIGURES = '''from IPython.display import Image

for name in ("training_curves_fold0", "embeddings_2d", "first_layer_filters", "hidden_neurons_guided_backprop",
             "gradcam_covid_test", "consistent_degree_overlays"):
    print(name)
    display(Image(data=report.figures[name]))'''

EMBEDDINGS = '''from medinterp_widgets.apps.covid_interp import embedding_views

embedding_views(report.arrays, config.seed)'''

BROWSER = '''import numpy as np

from medinterp_widgets.data import Volume
from medinterp_widgets.widgets.bokeh_setup import load_bokehjs
from medinterp_widgets.widgets.slice_browser import SliceBrowser

load_bokehjs()
arrays = report.arrays
lesions = Volume(arrays["lesion_images"].astype(np.float32), spacing=(1.0, 1.0, 1.0))
SliceBrowser(lesions, masks=arrays["lesion_masks"].astype(np.int16), heatmaps=arrays["lesion_cams"],
             title="Grad-CAM (COVID class) vs lesion mask; the slice slider steps through the lesion slices")'''


def curated() -> nbformat.NotebookNode:
    parameters = new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    return new_notebook(cells=[
        new_markdown_cell("# Paper 4: an interpretation architecture for COVID-19 CT (Wan, Zhou & Zhang, "
                          "Entropy 2021)\n\nAlexNet with 5-fold group cross-validation, LBP + SVM vs deep "
                          "features + SVM, PCA / kernel PCA / t-SNE of both, first-layer filters, guided "
                          "backprop of hidden neurons, Grad-CAM and its consistent degree with lesion masks."),
        parameters,
        new_code_cell(RUN),
        new_code_cell(TABLES),
        new_code_cell(FIGURES),
        new_markdown_cell("Interactive: LBP vs AlexNet features embedded with PCA, kernel PCA (linear, RBF) and "
                          "t-SNE in 2-D or 3-D (three linked projections), coloured by class; hover a point "
                          "for its image. The method and dimension controls apply to both panels."),
        new_code_cell(EMBEDDINGS),
        new_markdown_cell("Interactive: Grad-CAM of the COVID class over the MedSeg lesion slices (contours)."),
        new_code_cell(BROWSER),
    ], metadata=KERNEL)


def app() -> nbformat.NotebookNode:
    return new_notebook(cells=[new_code_cell('from medinterp_widgets.apps import build_app\n\n'
                                             'build_app("covid-interp")')], metadata=KERNEL)


if __name__ == "__main__":
    nbformat.write(curated(), NOTEBOOKS / "covid_interp.ipynb")
    nbformat.write(app(), NOTEBOOKS / "apps" / "covid_interp.ipynb")
