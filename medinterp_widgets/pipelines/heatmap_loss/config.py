"""`Config` of the heatmap-loss reproduction (one dataclass per run, nanoGPT style).

A *study* is ``"<dataset>:<loss>"``: dataset ``exp1`` (synthetic, sex changes anatomy and body fat),
``exp2`` (synthetic, sex marker at the bottom of male images) or ``acdc`` (real ACDC ED/ES slice
stacks, normal vs diseased per patient). Loss ``ce``: conventional training, the classification
term alone (``baseline_classification``: the thesis's MSE on the softmax by default); ``hirescam`` /
``gradcam``: the thesis's heatmap loss (MSE + ``heatmap_weight`` x heatmap mass outside the heart)
with that method's maps; ``hirescam-norm`` / ``gradcam-norm``: the normalised variant (cross-entropy
+ ``norm_weight`` x share of the map outside the heart). Every non-``ce`` study is compared with
the ``ce`` study of its dataset (and ``-norm`` with its thesis counterpart).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medinterp_widgets.pipelines.config import PipelineConfig
from medinterp_widgets.training.heatmap_loss import MAP_TARGETS

DATASETS = ("exp1", "exp2", "acdc")
LOSSES = ("ce", "hirescam", "gradcam", "hirescam-norm", "gradcam-norm")
PRIMARY_LOSSES = ("ce", "hirescam")  # the thesis's two groups; the rest get ``secondary_models`` models
_SYNTHETIC = ("exp1:ce", "exp1:hirescam", "exp2:ce", "exp2:hirescam")

_PRESETS: dict[str, dict] = {
    "smoke": dict(size=32, n_train=64, n_val=32, n_test=32, models_per_group=2, min_kept=2, max_models=2,
                  secondary_models=2, sweep_trials=1, epochs=1, width=2, hidden=8, batch_size=16,
                  studies=("exp2:ce", "exp2:hirescam"), val_accuracy_bar=0.0, keep_maps=4, torch_threads=1,
                  acdc_folds=2, acdc_epochs=1, acdc_size=32, acdc_crop=160, acdc_max_patients=12),
    # quick: <= ~2.5 min of 1-thread CPU time; directions only. No cardiac-function term: with 15-30 patients its
    # U-Net never learned the RV (out-of-fold Dice 0.0 at 4 or 12 epochs, 48 or 64 px), its indices only add noise
    "quick": dict(size=48, n_train=512, n_val=128, n_test=128, models_per_group=3, min_kept=3, max_models=3,
                  secondary_models=2, sweep_trials=1, epochs=8, width=8, hidden=32, batch_size=32,
                  studies=(*_SYNTHETIC, "acdc:ce", "acdc:hirescam"), val_accuracy_bar=0.8, keep_maps=8,
                  torch_threads=1, acdc_folds=2, acdc_epochs=6, acdc_size=48, acdc_max_patients=30),
    # paper: <= ~45 min on 2 CPU cores (about 38 min of 1-thread CPU time + 7.5 min of segmenters on the other core)
    "paper": dict(size=64, n_train=1000, n_val=300, n_test=300, models_per_group=13, min_kept=12, max_models=18,
                  secondary_models=4, sweep_trials=2, epochs=12, width=8, hidden=32, batch_size=32,
                  studies=(*_SYNTHETIC, "exp2:hirescam-norm", "acdc:ce", "acdc:hirescam"),
                  val_accuracy_bar=0.95, keep_maps=8, torch_threads=1, acdc_repeats=2,
                  # ACDC arm: 128 px crop, cross-entropy for both groups, the CV fold models as the classifier
                  # (nested CV, README: fold ensemble balanced accuracy 0.752 vs final model 0.696 over 4 seeds),
                  # maps of the log-odds (heatmap loss: ensemble AUC 0.79 vs 0.71, empty maps 0.45 vs 0.98)
                  acdc_crop=128, acdc_classification="ce", acdc_ensemble=True, acdc_heatmap_target="contrast",
                  # the cardiac-function term (acdc_function.py; README "ACDC cardiac-function term"), its
                  # segmenters in a second process beside the synthetic studies; w = 0.7 from seed 0's arm
                  # (out-of-fold BA at w = 0 / 0.5 / 0.6 / 0.75 / 1: ce 0.66 / 0.91 / 0.95 / 0.96 / 0.95)
                  acdc_function_weight=0.7, acdc_function_parallel=True),
    # full: thesis scale (~30 models kept per group, VGG16 with FC100 -> FC4, 128 px), one GPU; estimate in
    # the README ("Full presets"): ~5 min on one H100 (FLOP count / an assumed 50 TFLOP/s for grouped TF32 convs)
    "full": dict(size=128, n_train=1500, n_val=400, n_test=400, models_per_group=34, min_kept=30, max_models=45,
                 secondary_models=12, sweep_trials=2, epochs=12, width=16, cfg="vgg16", hidden=100, fc_pool=4,
                 batch_size=32, studies=(*_SYNTHETIC, "exp2:hirescam-norm", "exp2:gradcam", "acdc:ce",
                                         "acdc:hirescam"),
                 val_accuracy_bar=0.95, keep_maps=16, acdc_size=96, acdc_crop=176, acdc_epochs=40, acdc_repeats=3,
                 acdc_classification="ce", acdc_ensemble=True, acdc_heatmap_target="contrast",
                 acdc_function_weight=0.7, acdc_function_folds=5, acdc_function_epochs=30, acdc_function_width=16),
}


@dataclass
class Config(PipelineConfig):
    """Settings of one heatmap-loss reproduction run (see ``Config.from_preset``)."""

    data_root: str | Path | None = None  # None -> synthetic studies only (ACDC studies skipped)
    device: str | None = None  # None -> resolve_device()
    seed: int = 0
    torch_threads: int | None = None  # torch CPU threads during the run (restored after); None: torch's own
    out_dir: str | Path | None = None  # runs go to a fresh <out_dir>/runs/heatmap-loss-*; None: system temp
    studies: tuple[str, ...] = _SYNTHETIC
    # synthetic data
    size: int = 64  # image side (px)
    n_train: int = 1000
    n_val: int = 300
    n_test: int = 300
    # model: VGGClassifier, FC head (hidden -> classes; GAP would make HiResCAM and Grad-CAM coincide)
    width: int = 8
    cfg: str | list = dataclasses.field(default_factory=lambda: [1, "M", 2, "M", 4, "M", 4])
    hidden: int = 32
    fc_pool: int = 2
    # models per group: train models_per_group, then more until min_kept pass the bar (max_models in all)
    models_per_group: int = 14
    min_kept: int = 12
    max_models: int = 20
    secondary_models: int = 6  # models of the other groups (normalised variant, Grad-CAM), no top-up
    val_accuracy_bar: float = 0.95  # the thesis keeps models with validation accuracy > 95 %
    # training
    sweep_trials: int = 2  # Optuna trials per model (learning rate only), the best by val accuracy kept
    lr_low: float = 1e-3
    lr_high: float = 1e-2
    epochs: int = 10
    batch_size: int = 32
    heatmap_weight: float = 1.0  # thesis formulation: MSE + weight * mass outside
    norm_weight: float = 1.0  # normalised variant: CE + weight * share outside
    baseline_classification: str = "mse"
    group_size: int | None = None  # networks trained at once as one GroupedVGG; None: 4 on a CPU, 64 on CUDA
    # ACDC arm: stratified patient folds (out-of-fold balanced accuracy) + a final model on all patients
    acdc_size: int = 64
    acdc_crop: int = 160  # --paper: 128 (CV AUC up in 5 of 6 paired repeats; the nested runs below used it)
    acdc_middle: tuple[float, float] = (0.2, 0.8)  # relative slice positions used (mid-ventricular)
    acdc_difference: bool = False  # a third input channel ED - ES
    acdc_width: int = 8
    acdc_cfg: str | list = dataclasses.field(default_factory=lambda: [1, "M", 2, "M", 4, "M", 4, "M", 4])
    acdc_fc_pool: int = 1  # global average pool -> FC hidden -> FC 2
    acdc_dropout: float = 0.3
    acdc_folds: int = 5
    acdc_repeats: int = 1  # cross-validation repeats (different fold splits and seeds)
    acdc_epochs: int = 40
    acdc_lr: float = 2e-3
    acdc_aggregate: str = "softmax"  # patient P(diseased) from its slices: mean softmax or mean logit
    acdc_classification: str | None = None  # both ACDC classifiers' term ("mse" / "ce"); None: as synthetic
    # (cross-entropy vs MSE, same folds, 3 repeats: AUC 0.646 vs 0.700, balanced accuracy 0.621 vs 0.590)
    acdc_ensemble: bool = False  # P(diseased) of new patients = mean of the CV fold models (saved beside the final
    # model, which keeps the maps); on in --paper / --full: nested CV at crop 128, balanced accuracy of the fold
    # ensemble vs the final model 0.753 / 0.721, 0.774 / 0.683, 0.702 / 0.739, 0.779 / 0.640 (ce, seeds 3-6) and
    # 0.762 / 0.636, 0.667 / 0.562, 0.771 / 0.711 (thesis loss, seeds 3-5) (README)
    acdc_heatmap_target: str = "class"  # what the ACDC maps explain, in the loss and the overlap: "class" (the
    # thesis) or "contrast" (the log-odds; training.heatmap_loss: the class map lets the mass penalty be met
    # with all-zero maps)
    acdc_seg_weight: float = 0.0  # auxiliary heart-segmentation loss while training (acdc_train.py); off: no
    # gain shown (same 5-fold split, seed 1, ce: out-of-fold AUC 0.56 at weight 1 vs 0.54 without)
    acdc_max_patients: int | None = None
    # cardiac-function term (acdc_function.py): P(diseased) = (1 - w) p_cnn + w p_function, p_function from
    # indices (ejection fractions, volume ratios) of a U-Net's ED / ES masks; w = 0: the CNN alone
    acdc_function_weight: float = 0.0
    acdc_function_folds: int = 3  # segmenter folds giving each training patient out-of-fold indices
    acdc_function_epochs: int = 16
    acdc_function_width: int = 8  # the U-Net's base channels (depth 3)
    acdc_function_c: float = 1.0  # inverse L2 strength of the indices' logistic regression
    acdc_function_parallel: bool = False  # on a CPU: the segmenters train in a second process (one torch
    # thread) while the synthetic studies run, so a 2-core machine's second core does that work
    # evaluation
    eval_method: str = "hirescam"  # maps used for the overlap measurements
    keep_maps: int = 8  # test maps kept per model (two per class) for the figures / app
    alpha: float = 0.05
    limit_steps: int | None = None  # dry run: cap every training run's steps and each LR search's trials

    def __post_init__(self) -> None:
        self.studies = tuple(self.studies)
        for study in self.studies:
            dataset, _, loss = study.partition(":")
            if dataset not in DATASETS or loss not in LOSSES:
                raise ValueError(f"Config studies: {study!r}; expected '<dataset>:<loss>' with dataset in "
                                 f"{list(DATASETS)} and loss in {list(LOSSES)}")
        if self.size < 32:
            raise ValueError(f"Config size: expected >= 32 (synthetic_cardiac_mri's minimum), got {self.size}")
        if min(self.n_train, self.n_val, self.n_test, self.models_per_group, self.sweep_trials, self.epochs,
               self.min_kept, self.secondary_models) < 1:
            raise ValueError("Config: n_train, n_val, n_test, models_per_group, min_kept, secondary_models, "
                             "sweep_trials, epochs must be >= 1")
        if self.max_models < self.models_per_group:
            raise ValueError(f"Config max_models ({self.max_models}) < models_per_group ({self.models_per_group})")
        if not 0 < self.lr_low <= self.lr_high:
            raise ValueError(f"Config lr range: expected 0 < lr_low <= lr_high, got {self.lr_low}, {self.lr_high}")
        if self.baseline_classification not in ("mse", "ce"):
            raise ValueError(f"Config baseline_classification: expected 'mse' or 'ce', got "
                             f"{self.baseline_classification!r}")
        if self.acdc_classification not in (None, "mse", "ce"):
            raise ValueError(f"Config acdc_classification: expected None, 'mse' or 'ce', got "
                             f"{self.acdc_classification!r}")
        if self.acdc_heatmap_target not in MAP_TARGETS:
            raise ValueError(f"Config acdc_heatmap_target: expected one of {list(MAP_TARGETS)}, got "
                             f"{self.acdc_heatmap_target!r}")
        if self.acdc_aggregate not in ("softmax", "logit"):
            raise ValueError(f"Config acdc_aggregate: expected 'softmax' or 'logit', got {self.acdc_aggregate!r}")
        if self.acdc_folds < 2:
            raise ValueError(f"Config acdc_folds: expected >= 2, got {self.acdc_folds}")
        if not 0.0 <= self.acdc_function_weight <= 1.0 or self.acdc_function_folds < 2 \
                or min(self.acdc_function_epochs, self.acdc_function_width) < 1 or not self.acdc_function_c > 0:
            raise ValueError("Config acdc_function_*: expected weight in [0, 1], folds >= 2, epochs and width >= 1, "
                             f"c > 0; got {self.acdc_function_weight}, {self.acdc_function_folds}, "
                             f"{self.acdc_function_epochs}, {self.acdc_function_width}, {self.acdc_function_c}")

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """"smoke" (tests, seconds), "quick" (~2 min on a CPU), "paper" (<= 45 min on 2 CPU cores) or
        "full" (thesis scale, one GPU)."""
        return _PRESETS

    def studies_of(self, dataset: str) -> list[str]:
        """The losses studied on ``dataset``, in config order."""
        return [s.partition(":")[2] for s in self.studies if s.partition(":")[0] == dataset]

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(s.partition(":")[0] for s in self.studies))

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}
