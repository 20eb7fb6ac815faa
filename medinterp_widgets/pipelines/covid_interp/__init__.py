"""Paper 4, covid-interp: an interpretation architecture for COVID-19 CT (Wan, Zhou & Zhang, Entropy 2021).

    from medinterp_widgets.pipelines.covid_interp import Config, run
    report = run(Config.from_preset("paper", data_root="/data", out_dir="runs"))   # CovidReport
    report.write("reports/covid-interp")                                      # + arrays.npz

Per grouped fold: the paper's AlexNet (96 first-layer filters, SGD + momentum, 50 epochs; curves of
loss / accuracy / sensitivity / specificity / PPV / NPV), LBP + SVM and pool5 deep features + SVM
(Table 1), and a classifier worth explaining (SmallResNet from scratch with augmentation and BatchNorm
re-estimation) with its ablation rows (no augmentation, SimCLR pretraining, lesion-evidence design).
Then PCA / kernel PCA / t-SNE of LBP and deep features (Figs. 6-7), AlexNet's filters and hidden neurons
(Figs. 8-10), Grad-CAM / guided backprop of the explained classifier with their consistent degree
against MedSeg lesion masks (Figs. 11-12), and the faithfulness scores of those maps.
"""

from .config import Config
from .data import ImageSet, LesionSet, load_image_set, load_lesion_set, split_lesions
from .evaluate import evaluate_covid_ct, evaluate_covid_lesions
from .features import (
                       FEATURE_SETS,
                       deep_features,
                       embedding_key,
                       lbp_features,
                       lbp_histogram,
                       separation,
                       summarise_folds,
                       svm_scores,
)
from .interpret import (
                       consistent_degrees,
                       conv_activation_layers,
                       first_layer_filters,
                       gradcam_maps,
                       hidden_neuron_maps,
                       native_scores,
                       neuron_guided_backprop,
                       strongest_neuron_maps,
)
from .preprocess import Preprocess
from .report import ARRAYS_FILE, CovidReport, load_arrays
from .steps import run

__all__ = [
    "ARRAYS_FILE", "FEATURE_SETS", "Config", "CovidReport", "ImageSet", "LesionSet", "Preprocess",
    "consistent_degrees", "conv_activation_layers", "deep_features", "embedding_key", "evaluate_covid_ct",
    "evaluate_covid_lesions", "first_layer_filters", "gradcam_maps", "hidden_neuron_maps", "lbp_features",
    "lbp_histogram", "load_arrays", "load_image_set", "load_lesion_set", "native_scores", "neuron_guided_backprop",
    "run", "separation", "split_lesions", "strongest_neuron_maps", "summarise_folds", "svm_scores",
]
