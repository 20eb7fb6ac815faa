"""Paper 4, covid-interp: an interpretation architecture for COVID-19 CT (Wan, Zhou & Zhang, Entropy 2021).

    from medinterp_widgets.pipelines.covid_interp import Config, run
    report = run(Config.preset("quick", data_root="/data"))   # CovidReport
    report.write("reports/covid-interp")                      # + arrays.npz (embeddings, overlays)

AlexNet trained with k-fold group cross-validation (per-epoch loss/acc/sens/spec/PPV/NPV curves), the
table-1 baselines (59-bin uniform LBP + SVM vs AlexNet hidden-layer features + SVM), PCA / kernel PCA /
t-SNE of both feature sets in 2-D and 3-D, first-layer filters, guided backprop of random hidden
neurons, Grad-CAM, and the consistent degree of Grad-CAM with MedSeg lesion masks.
"""

from .config import Config
from .data import ImageSet, LesionSet, load_image_set, load_lesion_set
from .features import (FEATURE_SETS, deep_features, embedding_key, lbp_features, lbp_histogram, separation,
                       svm_scores, summarise_folds)
from .interpret import (consistent_degrees, conv_activation_layers, first_layer_filters,
                        gradcam_maps, hidden_neuron_maps, neuron_guided_backprop)
from .report import ARRAYS_FILE, CovidReport, load_arrays
from .steps import run

__all__ = [
    "ARRAYS_FILE", "FEATURE_SETS", "Config", "CovidReport", "ImageSet", "LesionSet", "consistent_degrees",
    "conv_activation_layers", "deep_features", "embedding_key", "first_layer_filters", "gradcam_maps",
    "hidden_neuron_maps", "lbp_features", "lbp_histogram", "load_arrays", "load_image_set", "load_lesion_set",
    "neuron_guided_backprop", "run", "separation", "summarise_folds", "svm_scores",
]
