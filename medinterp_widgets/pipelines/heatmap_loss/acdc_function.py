"""ACDC cardiac-function term: P(diseased) from indices of a segmentation network's ED / ES masks.

The ACDC diagnoses are defined by cardiac function (ejection fractions, volumes, wall thickness), which a
2-D classifier of a few slices sees only indirectly. So the ACDC classifier's P(diseased) is

    p = (1 - w) p_cnn + w p_function,   p_function = sigmoid(b + c . q((x - mu) / sigma))

with x the five indices below of a patient's segmented ED and ES frames (``cardiac_indices``), mu / sigma
the training patients' mean / standard deviation, q the linear and quadratic terms (``quadratic_terms``: a
normal heart lies *between* the diseases, low ejection fraction in DCM / MINF, thick walls in HCM, a large
RV in RV, so a linear boundary cannot hold it) and (c, b) a class-balanced L2 logistic regression. Volumes
are pixel counts summed over the frame's slices, so pixel spacing and slice thickness cancel in every index:

    LVEF = (LV_ED - LV_ES) / LV_ED     RVEF = (RV_ED - RV_ES) / RV_ED
    MYO_ED / LV_ED,   RV_ED / LV_ED,   MYO_ES / LV_ES

The masks come from a small U-Net (``train_segmenter``: background / RV / myocardium / LV cavity, every
slice of both frames, the classifier's crop and size, random affine + contrast, cross-entropy + soft Dice of
the three structures (with cross-entropy alone the small RV class collapsed to zero in some seeds), Adam
with a one-cycle schedule). The regression is fitted on *out-of-fold* indices (``out_of_fold_indices``: each
training patient segmented by a network that never saw it), so it learns from masks as imperfect as a new
patient's; the segmenter kept with the classifier is trained on every training patient. No label is read
at test time. HiResCAM and the heart overlap explain the CNN term only.

The regression travels in the checkpoint as plain numbers under ``extra.function_model`` with the
segmenter's file name (saved beside it); ``function_model_from_checkpoint`` checks every field.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.models.unet import UNet
from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload, model_from_checkpoint
from medinterp_widgets.training.losses import DiceCrossEntropyLoss
from medinterp_widgets.training.stored_fields import finite_number, number_list

from .acdc import PatientFrames, augment_batch

FIELD = "function_model"  # the checkpoint's config.extra field
KIND = "acdc-cardiac-indices"
INDEX_NAMES = ("lv_ejection_fraction", "rv_ejection_fraction", "myo_lv_ed", "rv_lv_ed", "myo_lv_es")
RV, MYO, LV = 1, 2, 3
SEGMENTER_DEPTH = 3
SEGMENTER_LR = 3e-3
SEGMENTER_ROTATE = 20.0  # degrees; the heart's orientation varies little across ACDC scans, so no mirror


def cardiac_indices(labels: np.ndarray) -> np.ndarray:
    """Label maps (2, S, H, W) of ED and ES (0-3) -> the five indices of the module docstring, (5,); an empty
    structure counts as one pixel so that every index stays finite."""
    ed, es = (np.asarray(frame) for frame in labels)
    lv_ed, lv_es, rv_ed, rv_es, myo_ed, myo_es = (max(int((frame == c).sum()), 1) for frame, c in
                                                  ((ed, LV), (es, LV), (ed, RV), (es, RV), (ed, MYO), (es, MYO)))
    return np.array([(lv_ed - lv_es) / lv_ed, (rv_ed - rv_es) / rv_ed, myo_ed / lv_ed, rv_ed / lv_ed,
                     myo_es / lv_es], np.float64)


def quadratic_terms(z: np.ndarray) -> np.ndarray:
    """(N, k) -> (N, k + k (k + 1) / 2): z_1..z_k, then z_i z_j for i <= j (row-major)."""
    z = np.asarray(z, np.float64)
    i, j = np.triu_indices(z.shape[1])
    return np.concatenate([z, z[:, i] * z[:, j]], axis=1)


@dataclass(frozen=True)
class FunctionModel:
    """Standardised indices -> quadratic logistic regression; ``weight`` = w of the blend."""

    mean: np.ndarray  # (5,)
    scale: np.ndarray  # (5,), > 0
    coef: np.ndarray  # (20,)
    intercept: float
    weight: float
    c: float = 1.0

    def p_diseased(self, indices: np.ndarray) -> np.ndarray:
        """(N, 5) indices -> (N,) P(diseased) of the function term."""
        z = (np.asarray(indices, np.float64).reshape(-1, len(INDEX_NAMES)) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(quadratic_terms(z) @ self.coef + self.intercept)))

    def blend(self, p_cnn: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """(1 - w) p_cnn + w p_function."""
        return (1.0 - self.weight) * np.asarray(p_cnn, np.float64) + self.weight * self.p_diseased(indices)

    def to_dict(self, segmenter: str) -> dict[str, Any]:
        return {"features": KIND, "indices": list(INDEX_NAMES), "segmenter": segmenter, "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
                "weight": self.weight, "c": self.c}


def fit_function_model(indices: np.ndarray, labels, *, weight: float, c: float = 1.0) -> FunctionModel:
    """StandardScaler, ``quadratic_terms``, then LogisticRegression(C=c, class_weight="balanced") on (N, 5)
    indices and 0/1 labels (1 = diseased)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(indices, np.float64)
    scaler = StandardScaler().fit(x)
    regression = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    regression.fit(quadratic_terms(scaler.transform(x)), np.asarray(labels))
    return FunctionModel(mean=scaler.mean_.copy(), scale=scaler.scale_.copy(), coef=regression.coef_[0].copy(),
                         intercept=float(regression.intercept_[0]), weight=float(weight), c=float(c))


def function_model_from_checkpoint(payload: dict[str, Any], source) -> tuple[FunctionModel, str] | None:
    """The checkpoint's ``config.extra.function_model`` checked field by field, and its segmenter's file name
    (beside the checkpoint); None when it stores none. A malformed one is refused naming the file and field."""
    stored = ((payload.get("config") or {}).get("extra") or {}).get(FIELD)
    if stored is None:
        return None
    where = f"{source}: config.extra.{FIELD}"
    if not isinstance(stored, dict) or stored.get("features") != KIND or stored.get("indices") != list(INDEX_NAMES):
        raise ValueError(f"{where} must be an object with features {KIND!r} and indices {list(INDEX_NAMES)}")
    segmenter = stored.get("segmenter")
    if not isinstance(segmenter, str) or not segmenter or Path(segmenter).name != segmenter:
        raise ValueError(f"{where}.segmenter must be a file name beside the checkpoint, got {segmenter!r}")
    k = len(INDEX_NAMES)
    scale = number_list(stored.get("scale"), k, f"{where}.scale")
    weight = finite_number(stored.get("weight"), f"{where}.weight")
    if (scale <= 0).any() or not 0.0 <= weight <= 1.0:
        raise ValueError(f"{where}: scale must be positive and weight in [0, 1]")
    model = FunctionModel(mean=number_list(stored.get("mean"), k, f"{where}.mean"), scale=scale,
                          coef=number_list(stored.get("coef"), k + k * (k + 1) // 2, f"{where}.coef"),
                          intercept=finite_number(stored.get("intercept"), f"{where}.intercept"), weight=weight,
                          c=finite_number(stored.get("c", 1.0), f"{where}.c"))
    return model, segmenter


def load_segmenter(checkpoint: Path, name: str) -> torch.nn.Module:
    """The U-Net a classifier's function term names (a file beside ``checkpoint``)."""
    path = checkpoint.parent / name
    if not path.is_file():
        raise DataFormatError(checkpoint, f"config.extra.{FIELD}.segmenter: {name} not found in {checkpoint.parent}")
    model = model_from_checkpoint(path)
    if not isinstance(model, UNet) or model.in_channels != 1 or model.init_kwargs["n_classes"] != 4 \
            or model.dims != 2:
        raise DataFormatError(path, "model: expected the function term's 2-D U-Net (1 channel in, 4 labels out)")
    return model.eval()


@dataclass(frozen=True)
class SegmenterSettings:
    width: int = 8  # U-Net base channels
    epochs: int = 16
    batch_size: int = 16
    max_steps: int | None = None  # dry runs: stop after this many optimizer steps


def _slices(patients: list[PatientFrames]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every slice of both frames: images (N, 1, H, W), labels (N, H, W) int64."""
    images = np.concatenate([p.images.reshape(-1, *p.images.shape[-2:]) for p in patients])
    labels = np.concatenate([p.labels.reshape(-1, *p.labels.shape[-2:]) for p in patients])
    return torch.from_numpy(images)[:, None], torch.from_numpy(labels.astype(np.int64))


def train_segmenter(patients: list[PatientFrames], settings: SegmenterSettings, seed: int, device=None) -> UNet:
    """A U-Net (module docstring) trained on every slice of ``patients``' two frames; returned in eval mode."""
    device = torch.device(device or "cpu")
    images, labels = _slices(patients)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = UNet(1, 4, settings.width, SEGMENTER_DEPTH).to(device)
    batch = min(settings.batch_size, len(images))
    steps = settings.epochs * (len(images) // batch)
    optimizer = torch.optim.Adam(model.parameters(), SEGMENTER_LR)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, SEGMENTER_LR, total_steps=max(steps, 1))
    generator = torch.Generator().manual_seed(seed)
    criterion = DiceCrossEntropyLoss(include_background=False)
    model.train()
    step = 0
    for _ in range(settings.epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images) - batch + 1, batch):
            if settings.max_steps is not None and step >= settings.max_steps:
                return model.eval()
            step += 1
            index = order[start:start + batch]
            x, y = augment_batch(images[index], labels[index][:, None].float(), generator, channels=1,
                                 rotate=SEGMENTER_ROTATE, flip=False)
            loss = criterion(model(x.to(device)), y[:, 0].round().long().to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def segment(model: torch.nn.Module, patient: PatientFrames, device=None, batch_size: int = 32) -> np.ndarray:
    """Label maps (2, S, H, W) uint8 of a patient's ED and ES slices (argmax of the U-Net)."""
    x = torch.from_numpy(patient.images.reshape(-1, 1, *patient.images.shape[-2:]))
    out = torch.cat([model(x[s:s + batch_size].to(device or "cpu")).argmax(1).cpu()
                     for s in range(0, len(x), batch_size)])
    return out.numpy().astype(np.uint8).reshape(patient.labels.shape)


def patient_indices(model: torch.nn.Module, patients: list[PatientFrames], device=None) -> np.ndarray:
    """(P, 5) ``cardiac_indices`` of each patient's segmented frames."""
    return np.stack([cardiac_indices(segment(model, p, device)) for p in patients])


def dice_per_label(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Dice of RV, myocardium, LV cavity (3,): 2 |P n T| / (|P| + |T|), NaN where both are empty."""
    out = []
    for label in (RV, MYO, LV):
        p, t = predicted == label, truth == label
        total = int(p.sum() + t.sum())
        out.append(2 * int((p & t).sum()) / total if total else float("nan"))
    return np.array(out)


@dataclass
class FunctionTermData:
    """What the function term needs from the training patients: out-of-fold indices (P, 5) and their masks'
    Dice (RV, MYO, LV; mean over patients), and the segmenter trained on every patient."""

    patient_ids: list[str]
    indices: np.ndarray
    dice: np.ndarray
    segmenter_kwargs: dict
    segmenter_state: dict  # name -> numpy array (plain across processes)

    def segmenter(self) -> UNet:
        model = UNet(**self.segmenter_kwargs)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in self.segmenter_state.items()})
        return model.eval()

    def save_segmenter(self, path: Path, extra: dict) -> None:
        atomic_save(checkpoint_payload(self.segmenter(), model_kwargs=self.segmenter_kwargs,
                                       config={"extra": extra}), path)


def prepare_function_term(patients: list[PatientFrames], settings: SegmenterSettings, folds: int, seed: int,
                          device=None, threads: int | None = None) -> FunctionTermData:
    """``folds`` stratified patient folds (strata: diagnoses) of segmenters for out-of-fold indices, then the
    segmenter of every patient. ``threads``: torch CPU threads for this call (a worker process sets its own)."""
    if threads:
        torch.set_num_threads(threads)
    indices = np.zeros((len(patients), len(INDEX_NAMES)))
    overlaps = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed * 100 + 77)
    for fold, (train, held_out) in enumerate(splitter.split(np.zeros(len(patients)), [p.diagnosis for p in patients])):
        model = train_segmenter([patients[i] for i in train], settings, seed * 1000 + 700 + fold, device)
        for i in held_out:
            masks = segment(model, patients[i], device)
            indices[i] = cardiac_indices(masks)
            overlaps.append(dice_per_label(masks, patients[i].labels))
    final = train_segmenter(patients, settings, seed * 1000 + 799, device)
    with warnings.catch_warnings():  # a label no patient shows (tiny test folders) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        dice = np.nanmean(np.stack(overlaps), 0)  # mean over patients
    return FunctionTermData([p.patient_id for p in patients], indices, dice, dict(final.init_kwargs),
                            {k: v.detach().cpu().numpy() for k, v in final.state_dict().items()})


__all__ = ["FIELD", "INDEX_NAMES", "FunctionModel", "FunctionTermData", "SegmenterSettings", "cardiac_indices",
           "dice_per_label", "fit_function_model", "function_model_from_checkpoint", "load_segmenter",
           "patient_indices", "prepare_function_term", "quadratic_terms", "segment", "train_segmenter"]
