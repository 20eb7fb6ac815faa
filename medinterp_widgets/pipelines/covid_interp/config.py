"""`Config`: one dataclass per covid-interp run (Wan, Zhou & Zhang, Entropy 2021, 23(2):204).

``Config.preset("smoke" | "quick" | "full", **overrides)``: smoke is for tests (seconds, tiny),
quick for CI and laptops (about a minute on 2 CPU cores, 2 of the 5 folds, 96 x 96 images, a narrow
AlexNet), full for a GPU (224 x 224, the AlexNet widths, all 5 folds).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PAPER_TITLE = "An Interpretation Architecture for Deep Learning Models with the Application of COVID-19 Diagnosis"


@dataclass
class Config:
    preset: str = "quick"
    data_root: str | None = None  # folder holding covid_ct/ and covid_ct_lesions/; None -> synthetic
    device: str | None = None  # None -> resolve_device
    seed: int = 0
    out_dir: str | None = None  # training run folders; None -> a temporary folder
    # data
    image_size: int = 96
    max_images: int | None = None  # random subset of the real COVID-CT images (None: all 498)
    synthetic_images: int = 120  # size of the synthetic stand-in set when no real data is found
    max_lesion_slices: int | None = None  # MedSeg lesion slices scored (None: all 50)
    # 5-fold group cross-validation; folds_to_run < folds trains only the first ones
    folds: int = 5
    folds_to_run: int | None = 2
    # AlexNet training (Adam, cross-entropy)
    epochs: int = 12
    batch_size: int = 16
    lr: float = 3e-4
    weight_decay: float = 0.0
    width: int = 16
    hidden: int = 256
    dropout: float = 0.5
    pretrained_weights: str | None = None  # a local AlexNet state dict to fine-tune (width/hidden from it)
    # baselines: 59-bin uniform LBP + SVM vs deep features (a hidden layer of the trained AlexNet) + SVM
    feature_layer: str = "classifier.5"  # ReLU after the second fully connected layer
    lbp_points: int = 8
    lbp_radius: float = 1.0
    svm_kernel: str = "rbf"
    svm_c: float = 1.0
    # feature embeddings (metrics.embedding: PCA, kernel PCA linear/RBF, t-SNE) in 2-D and 3-D
    embedding_points: int | None = 200
    # interpretation
    neurons_per_layer: int = 4  # random hidden neurons shown by guided backprop per conv layer
    gradcam_images: int = 6
    cam_threshold: float = 0.7  # consistent degree support threshold
    limit_steps: int | None = None  # dry run: stop each fold's training after this many steps (dry_run.py)

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str):  # Config() directly: the field default is the classmethod below
            self.preset = "custom"

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "Config":
        """The named preset with ``overrides`` applied (None values of data_root/device are kept as None)."""
        if name not in _PRESETS:
            raise ValueError(f"preset: got {name!r}, expected one of {sorted(_PRESETS)}")
        values = {**_PRESETS[name], **overrides, "preset": name}
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"Config.preset: unknown field(s) {unknown}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {key: (str(value) if key == "data_root" and value is not None else value)
                for key, value in dataclasses.asdict(self).items()}


_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(image_size=64, max_images=48, synthetic_images=24, max_lesion_slices=3, folds=2,
                  folds_to_run=1, epochs=1, batch_size=8, width=4, hidden=16, embedding_points=24,
                  neurons_per_layer=1, gradcam_images=2),
    "quick": {},
    "full": dict(image_size=224, max_images=None, synthetic_images=400, folds_to_run=None, epochs=60,
                 batch_size=32, lr=1e-4, width=64, hidden=4096, embedding_points=None, neurons_per_layer=8,
                 gradcam_images=12),
}
