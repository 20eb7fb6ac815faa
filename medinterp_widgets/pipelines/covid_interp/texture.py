"""A texture term beside the explained classifier: LBP histograms -> logistic regression, blended into P(COVID).

The CNN learns what separates the training sources (context, framing); on images of unseen sources the
texture of the lung parenchyma carries over better (LBP + SVM is the best row on the weakest fold). So the
classifier's P(COVID) is

    p = (1 - w) p_cnn + w p_tex,   p_tex = sigmoid(b + sum_k c_k (h_k - mu_k) / sigma_k)

with h the 59-bin uniform LBP histograms (``features.lbp_histogram``, P = 8) of the image at ``size`` for each
radius in ``radii``, concatenated (``texture_features``), counted over the lung fields (``region`` "lungs",
``lungs.lung_mask``: the parenchyma whose texture the term is for, not the body outline, table or figure
lettering) or the whole picture ("image"), mu / sigma the training fold's per-bin mean /
standard deviation and (c, b) an L2-regularised logistic regression fitted on the training fold, its C
chosen by an inner cross-validation grouped by source (``fit_texture_model``). Grad-CAM explains the CNN
term; the texture term is a linear model whose weights are stored and shown as they are.

The model travels in the checkpoint as plain numbers (``TextureModel.to_dict``: lists of floats, no pickled
objects) under ``extra.texture_model``; ``texture_model_from_checkpoint`` checks every field before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from medinterp_widgets.training.stored_fields import bounded_integer, finite_number, number_list

from .features import grouped_choice, lbp_bins, lbp_features
from .lungs import lung_masks

FIELD = "texture_model"  # the checkpoint's config.extra field
KIND = "lbp-nri-uniform"
REGIONS = ("image", "lungs")  # which pixels a histogram counts


def texture_features(images: torch.Tensor, points: int, radii: tuple[float, ...], region: str = "image") -> np.ndarray:
    """(N, 1, H, W) in 0..1 -> (N, len(radii) x (P (P - 1) + 3)): one uniform LBP histogram per radius, over
    ``region`` (``REGIONS``)."""
    if region not in REGIONS:
        raise ValueError(f"texture region: expected one of {REGIONS}, got {region!r}")
    masks = lung_masks(images) if region == "lungs" else None  # (N, H, W) bool
    return np.concatenate([lbp_features(images, points, radius, masks) for radius in radii], axis=1)


@dataclass(frozen=True)
class TextureModel:
    """Standardised LBP histograms -> logistic regression; ``weight`` = w of the blend (module docstring)."""

    size: int
    points: int
    radii: tuple[float, ...]
    mean: np.ndarray  # (bins,)
    scale: np.ndarray  # (bins,), > 0
    coef: np.ndarray  # (bins,)
    intercept: float
    weight: float
    c: float = 1.0  # the regression's C (inverse L2 strength), for the record
    region: str = "image"  # REGIONS

    def features(self, images: torch.Tensor) -> np.ndarray:
        """(N, 1, size, size) images in 0..1 -> (N, bins) histograms this model reads."""
        return texture_features(images, self.points, self.radii, self.region)

    def p_covid(self, histograms: np.ndarray) -> np.ndarray:
        """(N, bins) LBP histograms -> (N,) P(COVID) of the texture term."""
        logits = ((np.asarray(histograms, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def blend(self, p_cnn: np.ndarray, histograms: np.ndarray) -> np.ndarray:
        """(1 - w) p_cnn + w p_tex."""
        return (1.0 - self.weight) * np.asarray(p_cnn, np.float64) + self.weight * self.p_covid(histograms)

    def to_dict(self) -> dict[str, Any]:
        return {"features": KIND, "size": self.size, "points": self.points, "radii": list(self.radii),
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept, "weight": self.weight, "c": self.c, "region": self.region}


def fit_texture_model(histograms: np.ndarray, labels: np.ndarray, *, size: int, points: int,
                      radii: tuple[float, ...], weight: float, c: float | tuple[float, ...] = 1.0, groups=None,
                      inner_folds: int = 3, seed: int = 0, region: str = "image") -> TextureModel:
    """StandardScaler + LogisticRegression on the training fold's (N, bins) histograms and 0/1 labels. A tuple
    ``c`` with ``groups`` (one per row): C by ``inner_folds``-fold cross-validation grouped by source
    (``StratifiedGroupKFold``, log loss) on these rows only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.asarray(histograms, np.float64), np.asarray(labels)
    c = grouped_choice(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), "logisticregression__C",
                       c, x, y, groups, scoring="neg_log_loss", inner_folds=inner_folds, seed=seed,
                       caller="fit_texture_model")
    scaler = StandardScaler().fit(x)  # a bin constant over the fold gets scale 1
    regression = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), y)
    return TextureModel(size=int(size), points=int(points), radii=tuple(float(r) for r in radii),
                        mean=scaler.mean_.copy(), scale=scaler.scale_.copy(),
                        coef=regression.coef_[0].astype(np.float64), intercept=float(regression.intercept_[0]),
                        weight=float(weight), c=c, region=region)


def texture_model_from_checkpoint(payload: dict[str, Any], source: str) -> TextureModel | None:
    """The checkpoint's ``config.extra.texture_model`` checked field by field (None when it stores none); a
    malformed one is refused naming the file and the field."""
    stored = ((payload.get("config") or {}).get("extra") or {}).get(FIELD)
    if stored is None:
        return None
    where = f"{source}: config.extra.{FIELD}"
    if not isinstance(stored, dict) or stored.get("features") != KIND:
        raise ValueError(f"{where} must be an object with features {KIND!r}")
    points = bounded_integer(stored.get("points"), 4, 24, f"{where}.points")
    size = bounded_integer(stored.get("size"), 16, 1024, f"{where}.size")
    radii = stored.get("radii")
    if not isinstance(radii, list) or not 1 <= len(radii) <= 8:
        raise ValueError(f"{where}.radii must be a list of 1 to 8 radii")
    radii = tuple(finite_number(r, f"{where}.radii[{i}]") for i, r in enumerate(radii))
    weight = finite_number(stored.get("weight"), f"{where}.weight")
    region = stored.get("region", "image")
    if region not in REGIONS:
        raise ValueError(f"{where}.region must be one of {REGIONS}, got {region!r}")
    if not all(0.0 < r <= 8.0 for r in radii) or not 0.0 <= weight <= 1.0:
        raise ValueError(f"{where}: radii must be in (0, 8] and weight in [0, 1], got {radii!r} and {weight!r}")
    bins = len(radii) * lbp_bins(points)
    scale = number_list(stored.get("scale"), bins, f"{where}.scale")
    if (scale <= 0).any():
        raise ValueError(f"{where}.scale must be positive")
    return TextureModel(size=size, points=points, radii=radii,
                        mean=number_list(stored.get("mean"), bins, f"{where}.mean"), scale=scale,
                        coef=number_list(stored.get("coef"), bins, f"{where}.coef"),
                        intercept=finite_number(stored.get("intercept"), f"{where}.intercept"), weight=weight,
                        c=finite_number(stored.get("c", 1.0), f"{where}.c"), region=region)


__all__ = ["FIELD", "TextureModel", "fit_texture_model", "texture_features", "texture_model_from_checkpoint"]
