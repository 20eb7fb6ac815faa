"""`Config`: one dataclass per covid-interp run (Wan, Zhou & Zhang, Entropy 2021, 23(2):204).

``Config.from_preset("smoke" | "quick" | "paper" | "full", **overrides)``:

- smoke: tests (seconds, tiny, synthetic when no data);
- quick: <= 3 min on 2 CPU cores: 2 of the 5 folds, short runs, a narrow AlexNet;
- paper: <= 30 min on 2 CPU cores: all 5 folds, the paper's AlexNet conv layers (96 first-layer 11 x 11
  filters, pool5 9216-d) with SGD + momentum for 50 epochs at 96 px (FC 1024 wide), the explained
  classifier (SmallResNet, augmentation, lesion guidance on the MedSeg dev half, BatchNorm re-estimated)
  and two ablation rows (no augmentation; no lesion guidance);
- full: paper scale for one GPU: AlexNet at 224 px with 4096-wide FC layers, a wider explained
  classifier at 160 px, and the lung-fields, SimCLR, lesion-evidence (top-k pooling from the lung fields, crops,
  simulated-lesion pretraining), top-k and lung-window ablation rows too.

Two models are trained per fold: the paper's AlexNet (the baseline row of Table 1, whose pool5
features feed the deep-feature SVM and whose filters / neurons make Figs. 8-10) and the classifier
that is explained (Grad-CAM, guided backprop, consistent degree; Figs. 11-12).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from medinterp_widgets.data.preprocessing import TEST_TIME_MODES
from medinterp_widgets.pipelines.config import PipelineConfig

PAPER_TITLE = "An Interpretation Architecture for Deep Learning Models with the Application of COVID-19 Diagnosis"
# Ablation rows of the explained classifier: name -> (title, Config fields changed from the final model's).
VARIANTS = {
    "no_augment": ("without augmentation", {"augment": 0.0, "max_zoom": None}),
    "no_resolution": ("without the resolution augmentation (augment.degrade_resolution)", {"augment_resolution": 0.0}),
    "simclr": ("with SimCLR pretraining (40 epochs) on the unlabelled images", {"ssl_epochs": 40}),
    "topk": ("top-k evidence pooling instead of average pooling", {"pooling": "topk", "cam_layer": "stages.3"}),
    "lesion_evidence": ("top-k evidence from the lung fields only, crops, simulated-lesion pretraining",
                        {"pooling": "topk", "lung_gate": True, "max_zoom": 2.0, "lesion_pretrain": True,
                         "cam_layer": "gate"}),
    "window": ("robust lung window instead of the per-image z-score", {"intensity": "window"}),
    "lungs": ("lung fields only (everything outside lungs.lung_mask set to the lung mean)", {"lung_focus": True}),
    "no_lesion_guidance": ("without lesion guidance (labels only, as the paper)", {"lesion_weight": 0.0}),
}
# How a fold's model calls COVID: "fixed" P >= 0.5, or "train_midpoint" P >= halfway between the mean P(COVID)
# of its own COVID and non-COVID training images (metrics.midpoint_threshold; stored in the checkpoint)
DECISION_RULES = ("fixed", "train_midpoint")
ABLATIONS = ("no_augment", "no_lesion_guidance")  # --paper (CPU budget); --full adds the lungs, pretraining and
# pooling rows


@dataclass
class Config(PipelineConfig):
    data_root: str | None = None  # folder holding covid_ct/ and covid_ct_lesions/; None -> synthetic
    device: str | None = None  # None -> resolve_device
    seed: int = 0
    out_dir: str | None = None  # training run folders; None -> a temporary folder
    limit_steps: int | None = None  # dry run: stop each training run after this many steps (dry_run.py)
    cpu_bf16: bool = True  # bfloat16 autocast on CPUs with native bf16 (training only; evaluation is float32)
    # data
    max_images: int | None = None  # random subset of the real COVID-CT images (None: all)
    synthetic_images: int = 120  # size of the synthetic stand-in set when no real data is found
    max_lesion_slices: int | None = None  # MedSeg lesion slices scored (None: all)
    lesion_dev_fraction: float = 0.5  # MedSeg slices used for choices (layer, SSL); the rest stay untouched
    lbp_size: int = 224  # LBP histograms are taken at this size (the paper's input size)
    # 5-fold group cross-validation; folds_to_run < folds trains only the first ones
    folds: int = 5
    folds_to_run: int | None = None
    # the paper's AlexNet (baseline row): SGD + momentum, warmup then cosine, best epoch by validation loss
    alexnet_size: int = 96
    alexnet_channels: tuple[int, ...] = (96, 256, 384, 384, 256)
    alexnet_hidden: int = 1024
    alexnet_dropout: float = 0.5
    alexnet_epochs: int = 50
    alexnet_batch_size: int = 32
    alexnet_lr: float = 0.01
    alexnet_momentum: float = 0.9
    alexnet_weight_decay: float = 5e-4
    # augment.train_view strength and degrade_resolution share of the AlexNet's training images (0, 0: plain
    # images, as the paper describes its training). 0.5 / 0.5 measured on grouped partitions 0 / 1: AlexNet accuracy
    # 0.728 / 0.728 (AUC 0.795 / 0.817) but pool5 + SVM 0.724 / 0.732 (plain 0.728 / 0.746), +25 % CPU: not adopted
    alexnet_augment: float = 0.0
    alexnet_resolution: float = 0.0
    # the explained classifier: SmallResNet, SimCLR pretraining shared by all folds, then fine-tuning
    image_size: int = 128
    intensity: str = "zscore"  # preprocess.INTENSITIES
    lung_focus: bool = False  # preprocess: everything outside the lung fields (lungs.lung_mask) set to the lung mean
    widths: tuple[int, ...] = (16, 32, 64, 128)
    blocks: int = 1
    stem_pool: bool = False  # a max pool after the stem: twice the input size for about the same cost
    pooling: str = "avg"  # SmallResNet head: "avg", or "topk" (multiple-instance pooling of an evidence map)
    topk_fraction: float = 0.25
    lung_gate: bool = False  # top-k evidence only from the lung fields (SmallResNet.gate); Grad-CAM at "gate"
    dropout: float = 0.2
    ssl_epochs: int = 0  # SimCLR pretraining epochs (0: none; an ablation row uses 40)
    lesion_pretrain: bool = False  # pretrain on simulated lesions (synthetic.py; top-k pooling only)
    lesion_pretrain_images: int = 2000  # simulated CT slices for it
    lesion_pretrain_epochs: int = 10
    ssl_batch_size: int = 128
    ssl_lr: float = 1e-3
    ssl_temperature: float = 0.2
    epochs: int = 25
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: float = 0.5  # augment.train_view strength (0: none)
    # augment.degrade_resolution: share of training pictures shown at a lower resolution (down to
    # augment_min_scale of their size, then back), so sharpness (native figure size, a source cue) carries no label.
    # Three grouped partitions, CNN + texture term: mean accuracy 0.782 / 0.799 / 0.791 -> 0.805 / 0.819 / 0.781,
    # AUC 0.879 / 0.896 / 0.875 -> 0.892 / 0.906 / 0.877, worst fold 0.696 / 0.782 / 0.743 -> 0.725 / 0.792 / 0.752
    # (README, covid-interp); 1.0 was weaker (partition 0: 0.786 / 0.872)
    augment_resolution: float = 0.5
    augment_min_scale: float = 0.5
    rot90: bool = False  # training views also turned by a random multiple of 90 degrees (no "anterior is up" cue)
    max_zoom: float | None = None  # > 1.25: training crops down to 1 / max_zoom of the field of view
    # lesion guidance (lesion_guidance.py): the heatmap loss on MedSeg dev-half slices appended to each batch
    # weight of the Grad-CAM share outside the lesion, per lesion slice (0: off). Untouched-half CD / chance over
    # the 5 folds: 0 -> 1.0, 0.1 -> 5.1 (min 4.6; CD 0.11), 0.3 -> 5.9 (min 5.0; CD 0.03), 1.0 -> 5.3 (min 3.6);
    # accuracy / AUC 0.752 / 0.857, 0.707 / 0.840 (worst fold 0.676 / 0.762), 0.725 / 0.839 (0.618 / 0.718),
    # 0.711 / 0.825; 3.0 with lesions grown 2 px cost fold 0 0.15 accuracy (README, covid-interp)
    lesion_weight: float = 0.1
    lesion_count: int = 8  # dev slices appended to each training batch
    # weight of those slices in the cross-entropy (lesion_guidance.py; 1: COVID examples too, 0: map term only).
    # 5 folds, accuracy / AUC (min fold), untouched CD / chance (min), P(COVID) of the lesion slices: 1.0 -> 0.707
    # (0.676) / 0.840 (0.762), 5.06 (4.61), 0.74; 0.25 -> 0.748 (0.686) / 0.858 (0.748), 5.67 (5.24), 0.53; 0 ->
    # 0.746 (0.618) / 0.850 (0.730), 5.59 (4.48), 0.38 (README, covid-interp)
    lesion_ce_weight: float = 0.25
    lesion_dilate: int = 0  # lesion masks grown by this many pixels (at image_size) as the allowed region
    # operating point (DECISION_RULES). Unseen sources' non-COVID images get higher P(COVID) than the training
    # ones: at 0.5, sensitivity beat specificity on 13 of 15 grouped folds (seeds 0-2; README, covid-interp)
    decision_rule: str = "train_midpoint"
    # test time (data.preprocessing.TEST_TIME_MODES, stored in the checkpoint's preprocess): "mirror" = mean
    # P(COVID) of the image and its left-right mirror, a symmetry the augmentation trains; the threshold is taken
    # the same way. Three grouped partitions: mean AUC +0.007 / +0.006 / +0.003 (up on 11 of 15 folds), mean
    # accuracy +0.014 / +0.002 / -0.006 (README, covid-interp)
    test_time: str = "mirror"
    # texture term (texture.py): P(COVID) = (1 - w) CNN + w LBP logistic regression (uniform LBP histograms at
    # lbp_size, one per radius, C by inner grouped CV over texture_c; one value: fixed), fitted on the training
    # fold and stored in the checkpoint; 0 turns it off. Three grouped partitions, whole-picture histograms: mean AUC
    # +0.012 / +0.014 / +0.015, worst fold AUC 0.747 -> 0.798, 0.853 -> 0.864, 0.818 -> 0.848 (README)
    texture_weight: float = 0.5
    texture_radii: tuple[float, ...] = (1.0,)
    # histograms over the lung fields ("lungs") or the whole picture ("image"); same checkpoints, 3 partitions:
    # accuracy 0.780 / 0.797 / 0.791 vs 0.782 / 0.768 / 0.781, worst-fold AUC 0.820 / 0.878 / 0.856 vs 0.798 /
    # 0.864 / 0.848 (README)
    texture_region: str = "lungs"
    texture_c: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    ablations: tuple[str, ...] = ABLATIONS
    # baselines: 59-bin uniform LBP + SVM vs AlexNet pool5 features + SVM (and the explained classifier's
    # pooled features + SVM)
    feature_layer: str = "avgpool"  # AlexNet pool5 (256 x 6 x 6 = 9216-d)
    lbp_points: int = 8
    lbp_radius: float = 1.0
    svm_kernel: str = "rbf"  # LBP and the explained classifier's pooled features, after StandardScaler
    # AlexNet pool5 + SVM: each row scaled to unit L2 norm, linear SVM (the usual recipe for CNN activations).
    # Grouped folds, seeds 0 / 1: 0.728 / 0.746 mean accuracy vs 0.708 / 0.691 with StandardScaler + RBF (LBP +
    # SVM 0.701 / 0.705); README, covid-interp
    deep_svm_scaling: str = "l2"
    deep_svm_kernel: str = "linear"
    svm_c: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)  # per fold by inner grouped CV (one value: fixed)
    # feature embeddings (metrics.embedding: PCA, kernel PCA linear/RBF, t-SNE) in 2-D and 3-D
    embedding_points: int | None = None
    # interpretation
    # Grad-CAM layer of the explained classifier: the last stage (stride 16), the best of stages.0-3 on the MedSeg
    # dev half (CD / chance 0.27, 0.20, 0.38, 0.92 over the 5 --paper folds; the stride-4 stages.1 used before was
    # the worst: its min-max support is a few hot cells outside the lungs)
    cam_layer: str = "stages.3"
    neurons_per_layer: int = 8  # Fig. 9: hidden neurons shown by guided backprop per conv layer
    layer_images: int = 8  # Fig. 10: images shown through the five conv layers
    gradcam_images: int = 6  # Figs. 11-12: highest consistent-degree cases
    cam_threshold: float = 0.7  # consistent degree support threshold
    faithfulness_slices: int = 8  # untouched MedSeg slices whose maps get faithfulness scores (0: none)
    faithfulness_steps: int = 32  # deletion / insertion steps

    def __post_init__(self) -> None:
        if self.decision_rule not in DECISION_RULES:
            raise ValueError(f"Config.decision_rule: expected one of {DECISION_RULES}, got {self.decision_rule!r}")
        if self.test_time not in TEST_TIME_MODES:
            raise ValueError(f"Config.test_time: expected one of {TEST_TIME_MODES}, got {self.test_time!r}")
        from .features import SVM_KERNELS, SVM_SCALINGS

        if self.deep_svm_scaling not in SVM_SCALINGS:
            raise ValueError(f"Config.deep_svm_scaling: expected one of {sorted(SVM_SCALINGS)}, "
                             f"got {self.deep_svm_scaling!r}")
        for name in ("svm_kernel", "deep_svm_kernel"):
            if getattr(self, name) not in SVM_KERNELS:
                raise ValueError(f"Config.{name}: expected one of {SVM_KERNELS}, got {getattr(self, name)!r}")
        if not 0.0 <= self.texture_weight <= 1.0 or not self.texture_c or min(self.texture_c) <= 0:
            raise ValueError(f"Config: texture_weight must be in [0, 1] and texture_c positive values, got "
                             f"{self.texture_weight!r} and {self.texture_c!r}")
        from .texture import REGIONS

        if self.texture_region not in REGIONS:
            raise ValueError(f"Config.texture_region: expected one of {REGIONS}, got {self.texture_region!r}")
        if not self.texture_radii or not all(0 < radius <= 8 for radius in self.texture_radii):
            raise ValueError(f"Config.texture_radii: radii in (0, 8], got {self.texture_radii!r}")
        if not 0.0 <= self.augment_resolution <= 1.0 or not 0.05 <= self.augment_min_scale <= 1.0:
            raise ValueError(f"Config: augment_resolution must be in [0, 1] and augment_min_scale in [0.05, 1], got "
                             f"{self.augment_resolution!r} and {self.augment_min_scale!r}")
        unknown = sorted(set(self.ablations) - set(VARIANTS))
        if unknown:
            raise ValueError(f"Config.ablations: unknown {unknown}, expected some of {sorted(VARIANTS)}")

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """"smoke" (tests), "quick", "paper" and "full" (see the module docstring)."""
        return _PRESETS

    def variant(self, name: str) -> "Config":
        """This config with ablation row ``name``'s changes ("final": unchanged)."""
        return self if name == "final" else dataclasses.replace(self, **VARIANTS[name][1])

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        return {key: (list(value) if isinstance(value, tuple) else value) for key, value in values.items()}


_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(max_images=48, synthetic_images=24, max_lesion_slices=4, folds=2, folds_to_run=1, lbp_size=64,
                  alexnet_size=64, alexnet_channels=(8, 8, 8, 8, 8), alexnet_hidden=16, alexnet_epochs=1,
                  alexnet_batch_size=8, image_size=64, widths=(4, 4, 8, 8), lesion_pretrain_images=16,
                  lesion_pretrain_epochs=1, ssl_batch_size=8, epochs=1, batch_size=8,
                  ablations=("lesion_evidence", "lungs"), embedding_points=24, faithfulness_slices=2,
                  faithfulness_steps=4, neurons_per_layer=1, layer_images=2, gradcam_images=2),
    "quick": dict(folds_to_run=2, alexnet_size=96, alexnet_channels=(96, 64, 96, 96, 64), alexnet_hidden=256,
                  alexnet_epochs=8, image_size=96, epochs=10,
                  ablations=(), lbp_size=128, embedding_points=200, neurons_per_layer=4, layer_images=4,
                  faithfulness_slices=4, faithfulness_steps=16),
    "paper": {},
    "full": dict(alexnet_size=224, alexnet_hidden=4096, image_size=160, widths=(24, 48, 96, 192),
                 epochs=40,
                 ablations=(*ABLATIONS, "no_resolution", "lungs", "simclr", "lesion_evidence", "topk", "window"),
                 lbp_size=224),
}
