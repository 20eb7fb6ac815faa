"""`Config` of the heatmap-loss reproduction (one dataclass per run, nanoGPT style).

A *study* is ``"<dataset>:<loss>"``: dataset ``exp1`` (synthetic, sex changes anatomy size),
``exp2`` (synthetic, sex marker in the top-left corner of male images) or ``acdc`` (real ACDC slices,
``acdc_positive`` diagnosis vs the rest); loss ``ce`` (plain cross-entropy) or a heatmap-loss method
(``hirescam``, ``gradcam``). Every non-``ce`` study is compared with the ``ce`` study of its dataset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

DATASETS = ("exp1", "exp2", "acdc")
LOSSES = ("ce", "hirescam", "gradcam")

_PRESETS: dict[str, dict] = {
    "smoke": dict(size=32, n_train=32, n_val=16, n_test=16, models_per_group=2, sweep_trials=1, epochs=1,
                  width=2, batch_size=16, studies=("exp2:ce", "exp2:hirescam"), val_accuracy_bar=0.0,
                  acdc_max_slices=48, keep_maps=4, torch_threads=1),
    "quick": dict(size=64, n_train=192, n_val=64, n_test=64, models_per_group=2, sweep_trials=2, epochs=5,
                  width=4, batch_size=16, val_accuracy_bar=0.3, acdc_max_slices=200, keep_maps=12, torch_threads=1),
    # full: 7 groups x 8 models x 4 LR trials x 20 epochs (62 steps each on synthetic data) ~ 216k steps: the
    # longest preset, ~1-2 h on one H100 (`medinterp bench presets`); 6 trials x 30 epochs would take 2.25x as long
    "full": dict(size=128, n_train=2000, n_val=400, n_test=400, models_per_group=8, sweep_trials=4, epochs=20,
                 width=16, cfg="vgg11", batch_size=32, val_accuracy_bar=0.7, acdc_max_slices=None, keep_maps=16,
                 acdc_positive="auto"),
}


@dataclass
class Config:
    """Settings of one heatmap-loss reproduction run (see ``Config.preset``)."""

    preset: str = "quick"
    data_root: str | Path | None = None  # None -> synthetic studies only (ACDC studies skipped)
    device: str | None = None  # None -> resolve_device()
    seed: int = 0
    torch_threads: int | None = None  # torch CPU threads during the run (restored after); None: torch's own
    out_dir: str | Path | None = None  # runs go to a fresh <out_dir>/runs/heatmap-loss-*; None: system temp
    studies: tuple[str, ...] = ("exp1:ce", "exp1:hirescam", "exp2:ce", "exp2:hirescam", "exp2:gradcam",
                                "acdc:ce", "acdc:hirescam")
    # data
    size: int = 64  # image side (px)
    n_train: int = 192
    n_val: int = 64
    n_test: int = 64
    acdc_positive: str = "HCM"  # ACDC: this diagnosis (label 1) vs the others; "auto": NOR when there is NOR data
    acdc_max_slices: int | None = 200  # subsample the ACDC training slices (None: all)
    # model: VGGClassifier with an FC head (GAP would make HiResCAM and Grad-CAM coincide)
    width: int = 4
    cfg: str | list = "tiny"
    head: str = "fc"
    # training
    models_per_group: int = 2
    sweep_trials: int = 2  # Optuna trials per model (learning rate only)
    lr_low: float = 1e-4
    lr_high: float = 1e-2
    epochs: int = 5
    batch_size: int = 16
    heatmap_weight: float = 1.0
    val_accuracy_bar: float = 0.3  # models below it, or not above the majority-class rate, are left out
    # evaluation
    eval_method: str = "hirescam"  # maps used for the overlap measurements
    keep_maps: int = 12  # test maps kept per model for figures / the interactive view
    alpha: float = 0.05
    limit_steps: int | None = None  # dry run: cap every training run's steps and each LR search's trials

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str):  # Config() directly: the field default is the classmethod below
            self.preset = "custom"
        self.studies = tuple(self.studies)
        for study in self.studies:
            dataset, _, loss = study.partition(":")
            if dataset not in DATASETS or loss not in LOSSES:
                raise ValueError(f"Config studies: {study!r}; expected '<dataset>:<loss>' with dataset in "
                                 f"{list(DATASETS)} and loss in {list(LOSSES)}")
        if self.size < 32:
            raise ValueError(f"Config size: expected >= 32 (synthetic_cardiac_mri's minimum), got {self.size}")
        if min(self.n_train, self.n_val, self.n_test, self.models_per_group, self.sweep_trials, self.epochs) < 1:
            raise ValueError("Config: n_train, n_val, n_test, models_per_group, sweep_trials, epochs must be >= 1")
        if not 0 < self.lr_low <= self.lr_high:
            raise ValueError(f"Config lr range: expected 0 < lr_low <= lr_high, got {self.lr_low}, {self.lr_high}")

    @classmethod
    def preset(cls, name: str, **overrides) -> "Config":
        """"smoke" (tests, seconds), "quick" (<= ~90 s on 2 CPU cores) or "full" (paper scale, GPU)."""
        if name not in _PRESETS:
            raise ValueError(f"Config preset: expected one of {sorted(_PRESETS)}, got {name!r}")
        return cls(preset=name, **{**_PRESETS[name], **overrides})

    def studies_of(self, dataset: str) -> list[str]:
        """The losses studied on ``dataset``, in config order."""
        return [s.partition(":")[2] for s in self.studies if s.partition(":")[0] == dataset]

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(s.partition(":")[0] for s in self.studies))

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}
