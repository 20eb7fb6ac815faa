"""ACDC arm data: normal (NOR) vs diseased per patient, from end-diastole / end-systole slice pairs.

A patient's input is a stack of 2-channel slices (ED frame01, ES frame02 at the same slice index), so
a 2-D classifier sees the contraction; its patient prediction is the mean softmax over the stack.
Preprocessing (``preprocess_pair``, its settings stored in every checkpoint and reused by
``medinterp evaluate --dataset acdc-diagnosis``): the slices whose centre lies in the ``middle`` part
of the stack (relative position (i + 0.5) / S, default 0.2-0.8: mid-ventricular; apex and base left
out), centre crop ``crop`` px (zero padding where the image is smaller), resize to ``size`` (area /
nearest for labels), per-frame z-score. The heart
(the heatmap loss's allowed region) is labels 1-3 (RV, myocardium, LV cavity) of either frame; a
slice without heart allows the whole image. Diagnosis from the patient number block (``acdc_diagnosis``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.data.acdc import acdc_diagnosis, parse_acdc_name, read_acdc_h5
from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.data.images import resize_pair
from medinterp_widgets.training.grouped import ImageSet

CLASS_NAMES = ("normal", "diseased")
HEALTHY = "NOR"
PREPROCESSING = {"kind": "acdc-ed-es-pair", "crop": 160, "size": 64, "middle": (0.2, 0.8)}


@dataclass
class Patient:
    """One ACDC patient's preprocessed images and diagnosis; label 1 = diseased (anything but NOR)."""

    patient_id: str
    diagnosis: str | None
    images: np.ndarray

    @property
    def label(self) -> int:
        return int(self.diagnosis != HEALTHY)


@dataclass
class PatientStack(Patient):
    """A patient's classifier input: images (S, 2, size, size) float32 (ED, ES[, ED - ES]), label codes
    (S, size, size) uint8 (4 x ED label + ES label, 0: background in both frames)."""

    codes: np.ndarray

    @property
    def heart(self) -> np.ndarray:
        """(S, size, size) bool: heart (RV, myocardium, LV cavity) in either frame."""
        return self.codes > 0


def centre_crop(image: np.ndarray, crop: int) -> np.ndarray:
    """The central ``crop`` x ``crop`` window, zero-padded where the image is smaller."""
    out = np.zeros((crop, crop), dtype=image.dtype)
    h, w = image.shape
    top, left = (h - crop) // 2, (w - crop) // 2
    src = image[max(0, top):max(0, top) + min(h, crop), max(0, left):max(0, left) + min(w, crop)]
    out[max(0, -top):max(0, -top) + src.shape[0], max(0, -left):max(0, -left) + src.shape[1]] = src
    return out


def preprocess_frame(image: np.ndarray, label: np.ndarray, crop: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One 2-D frame -> (z-scored image (size, size) float32, label (size, size) uint8 0-3)."""
    image, label = resize_pair(centre_crop(image.astype(np.float32), crop), centre_crop(label, crop), (size, size))
    image = (image - image.mean()) / (image.std() + 1e-6)
    if label.min() < 0 or label.max() > 3:
        raise ValueError(f"ACDC label values {label.min()}..{label.max()}: expected 0-3")
    return image.astype(np.float32), label.astype(np.uint8)


def preprocess_pair(ed: tuple[np.ndarray, np.ndarray], es: tuple[np.ndarray, np.ndarray], crop: int,
                    size: int) -> tuple[np.ndarray, np.ndarray]:
    """(image, label) of ED and ES at one slice -> (2-channel image (2, size, size), codes 4 ed + es)."""
    (ed_image, ed_label), (es_image, es_label) = (preprocess_frame(*frame, crop, size) for frame in (ed, es))
    return np.stack([ed_image, es_image]), (4 * ed_label + es_label).astype(np.uint8)


def _case_names(root: Path, split: str | None) -> list[str]:
    """Case names of ``root/<split>_slices.list`` (or ``<split>.list``); without such a list, every
    ``root/data/*.h5`` (or ``root/*.h5``) file."""
    for name in ([f"{split}_slices.list", f"{split}.list"] if split else []):
        if (root / name).is_file():
            return [line.strip() for line in (root / name).read_text().splitlines() if line.strip()]
    folder = root / "data" if (root / "data").is_dir() else root
    names = sorted(p.stem for p in folder.glob("*.h5"))
    if not names:
        raise FileNotFoundError(f"ACDC folder {root}: no {split}.list and no .h5 files under {folder}")
    return names


def _frames_by_patient(root: Path, names: list[str]) -> dict[str, dict[int, dict[int, tuple]]]:
    """patient -> frame -> slice index -> (image, label)."""
    folder = root / "data" if (root / "data").is_dir() else root
    frames: dict[str, dict[int, dict[int, tuple]]] = defaultdict(lambda: defaultdict(dict))
    for name in names:
        try:
            patient, _, frame, slice_index = parse_acdc_name(name)
        except ValueError as error:
            raise DataFormatError(root, str(error)) from error
        path = folder / f"{name}.h5"
        image, label = read_acdc_h5(path)
        if slice_index is None:  # a volume (S, H, W)
            if image.ndim != 3:
                raise DataFormatError(path, f"'image' has {image.ndim} dims, expected a volume (S, H, W)")
            frames[patient][frame].update({i: (image[i], label[i]) for i in range(image.shape[0])})
        else:
            frames[patient][frame][slice_index] = (image, label)
    return frames


def middle_slices(indices: list[int], middle=PREPROCESSING["middle"]) -> list[int]:
    """The sorted slice indices whose relative position (i + 0.5) / S lies in ``middle`` (at least one)."""
    low, high = middle
    count = len(indices)
    chosen = [index for i, index in enumerate(indices) if low <= (i + 0.5) / count <= high]
    return chosen or [indices[count // 2]]


def spread(items: list, limit: int | None) -> list:
    """``limit`` items evenly spaced over ``items`` (first and last included); all of them without a limit."""
    if limit is None or limit >= len(items):
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, max(0, limit)).round().astype(int)]


def _ed_es_pairs(root: Path, split: str | None, limit: int | None):
    """(patient, diagnosis, ED slices, ES slices, sorted slice indices both frames have) per patient of a
    folder (``read_patients``' ``limit``); a patient without exactly two frames, or whose frames share no
    slice index, is refused naming the folder."""
    frames = _frames_by_patient(root, _case_names(root, split))
    for patient in spread(sorted(frames), limit):
        by_frame = frames[patient]
        if len(by_frame) != 2:
            raise DataFormatError(root, f"{patient}: frames {sorted(by_frame)}; expected two (ED and ES)")
        ed, es = (by_frame[f] for f in sorted(by_frame))
        shared = sorted(set(ed) & set(es))
        if not shared:
            raise DataFormatError(root, f"{patient}: ED and ES share no slice index")
        yield patient, acdc_diagnosis(int(re.sub(r"\D", "", patient))), ed, es, shared


def read_patients(root, split: str | None = None, *, crop: int = PREPROCESSING["crop"],
                  size: int = PREPROCESSING["size"], middle=(0.0, 1.0), limit: int | None = None,
                  difference: bool = False) -> list[PatientStack]:
    """Every patient of an ACDC folder (a split list, or all files) as a preprocessed ED/ES stack of the
    ``middle`` part of its slices; ``limit``: that many patients evenly spaced over the sorted patient
    numbers (so every diagnosis block of 20 numbers stays in); ``difference``: a third channel ED - ES
    (the contraction)."""
    root = Path(root)
    patients = []
    for patient, diagnosis, ed, es, shared in _ed_es_pairs(root, split, limit):
        pairs = [preprocess_pair(ed[i], es[i], crop, size) for i in middle_slices(shared, middle)]
        images = np.stack([p[0] for p in pairs])  # (S, 2, size, size)
        if difference:
            images = np.concatenate([images, images[:, :1] - images[:, 1:]], axis=1)
        patients.append(PatientStack(patient, diagnosis, images, np.stack([p[1] for p in pairs])))
    return patients


@dataclass
class PatientFrames(Patient):
    """A patient's ED and ES frames, every slice both have: images (2, S, size, size) float32 and labels
    (2, S, size, size) uint8 0-3, each slice preprocessed as ``preprocess_frame``."""

    labels: np.ndarray


def read_frames(root, split: str | None = None, *, crop: int = PREPROCESSING["crop"],
                size: int = PREPROCESSING["size"], limit: int | None = None) -> list[PatientFrames]:
    """Every patient of an ACDC folder with all its slices (apex to base) of both frames, for volumes."""
    out = []
    for patient, diagnosis, ed, es, shared in _ed_es_pairs(Path(root), split, limit):
        frames = [[preprocess_frame(*frame[i], crop, size) for i in shared] for frame in (ed, es)]
        out.append(PatientFrames(patient, diagnosis, np.stack([[im for im, _ in f] for f in frames]),
                                 np.stack([[lb for _, lb in f] for f in frames])))
    return out


def stack_patients(patients: list[PatientStack]) -> tuple[ImageSet, torch.Tensor]:
    """All slices as one ImageSet (images (N, 2, H, W), labels, label codes (N, H, W) as its masks) and
    the patient index of each slice (N,)."""
    images = torch.from_numpy(np.concatenate([p.images for p in patients]))
    codes = torch.from_numpy(np.concatenate([p.codes for p in patients]))
    labels = torch.cat([torch.full((len(p.images),), p.label, dtype=torch.long) for p in patients])
    owner = torch.cat([torch.full((len(p.images),), i, dtype=torch.long) for i, p in enumerate(patients)])
    return ImageSet(images, labels, codes), owner


AGGREGATES = ("softmax", "logit")


@torch.no_grad()
def patient_probabilities(model: torch.nn.Module, patients: list[PatientStack], device=None,
                          batch_size: int = 64, aggregate: str = "softmax") -> np.ndarray:
    """P(diseased) per patient, (P,): ``softmax``: the mean over the patient's slices of softmax(z)_1;
    ``logit``: sigmoid of the mean log-odds, sigmoid(mean_s (z_s1 - z_s0))."""
    if aggregate not in AGGREGATES:
        raise ValueError(f"patient_probabilities aggregate: expected one of {list(AGGREGATES)}, got {aggregate!r}")
    model = model.to(device or "cpu").eval()
    out = []
    for patient in patients:
        x = torch.from_numpy(patient.images)
        logits = torch.cat([model(x[s:s + batch_size].to(device or "cpu")).cpu() for s in range(0, len(x), batch_size)])
        if aggregate == "softmax":
            out.append(float(logits.softmax(1)[:, 1].mean()))
        else:
            out.append(float(torch.sigmoid((logits[:, 1] - logits[:, 0]).mean())))
    return np.asarray(out)


def diagnosis_scores(labels, probabilities, threshold: float = 0.5) -> dict:
    """balanced_accuracy, accuracy, sensitivity (diseased), specificity (normal) at P(diseased) >= threshold,
    auc (threshold-free), n, n_normal, n_diseased."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    labels, predicted = np.asarray(labels), (np.asarray(probabilities) >= threshold).astype(int)
    both = len(set(labels.tolist())) == 2
    return {"balanced_accuracy": float(balanced_accuracy_score(labels, predicted)) if both else float("nan"),
            "auc": float(roc_auc_score(labels, probabilities)) if both else float("nan"),
            "accuracy": float((labels == predicted).mean()) if len(labels) else float("nan"),
            "sensitivity": float(predicted[labels == 1].mean()) if (labels == 1).any() else float("nan"),
            "specificity": float(1 - predicted[labels == 0].mean()) if (labels == 0).any() else float("nan"),
            "n": int(len(labels)), "n_normal": int((labels == 0).sum()), "n_diseased": int((labels == 1).sum()),
            "threshold": float(threshold)}


def augment_batch(x: torch.Tensor, masks: torch.Tensor | None, generator: torch.Generator, channels: int = 2,
                  rotate: float = 180.0, scale: float = 0.1, shift: float = 0.06, contrast: float = 0.15,
                  flip: bool = True):
    """Random affine (rotation +/- ``rotate`` degrees, zoom 1 +/- ``scale``, shift +/- ``shift`` of the
    side, a mirror image half of the time when ``flip``) and contrast (x * (1 +/- contrast)) per image
    of a grouped batch x (B, K * channels, H, W), with the same affine on its mask (B, K, H, W; nearest)."""
    b, kc, h, w = x.shape
    n = b * kc // channels  # images: one per (sample, model)
    u = torch.rand(n, 6, generator=generator) * 2 - 1  # (n, 6) in [-1, 1]
    angle, zoom = u[:, 0] * np.deg2rad(rotate), 1 + u[:, 1] * scale
    mirror = torch.where((u[:, 5] > 0) & flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos * mirror, -sin, u[:, 2] * 2 * shift], 1),
                         torch.stack([sin * mirror, cos, u[:, 3] * 2 * shift], 1)], 1).to(x)  # (n, 2, 3)
    grid = torch.nn.functional.affine_grid(theta, (n, channels, h, w), align_corners=False)
    images = torch.nn.functional.grid_sample(x.reshape(n, channels, h, w), grid, align_corners=False)
    images = images * (1 + u[:, 4] * contrast).to(x).view(n, 1, 1, 1)
    if masks is not None:
        moved = torch.nn.functional.grid_sample(masks.reshape(n, 1, h, w).float(), grid, mode="nearest",
                                                align_corners=False)
        masks = moved.view(masks.shape)
    return images.view(x.shape), masks
