"""Mask placement: correlate a test animal's enhanced GBP volume with reference templates.

A ``Reference`` is one training animal's brain mask M and its template T = M * f (the mask times its
own enhanced GBP map), both (S, H, W) sagittal stacks. The animals' sagittal slices start at
different left-right offsets (the first brain slice is voxel 15-23), so slice numbers do not match
between animals: both placements first align the sagittal axis by a 3-D cross-correlation of the
test volume with the template volume, which gives (ds, dy, dx); reference slice s - ds then serves
test slice s.

- ``place_paper`` (the paper): one reference; after the sagittal alignment each slice's mask is put
  at the peak of the plain 2-D cross-correlation sum_p f_test(p + d) T(p) of that slice.
- ``place_multi`` (ours): every reference, rotated in the sagittal plane over ``angles``; the
  normalised cross-correlation (``skimage.feature.match_template``) picks each reference's angle and
  3-D offset; each slice is refined by a 2-D normalised correlation within ``window`` px and over
  reference levels s - ds +- ``level_search``; the references' placed masks are fused by majority vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import fftconvolve
from skimage.feature import match_template

from .gbp import shift_image


@dataclass(frozen=True)
class Reference:
    """A training animal's mask (S, H, W) bool and template = mask * enhanced GBP (S, H, W) float32."""

    subject_id: str
    mask: np.ndarray
    template: np.ndarray

    @classmethod
    def build(cls, subject_id: str, mask: np.ndarray, enhanced: np.ndarray) -> "Reference":
        mask = np.asarray(mask, bool)
        return cls(subject_id, mask, (mask * np.asarray(enhanced, np.float32)).astype(np.float32))


@dataclass(frozen=True)
class Placed:
    """A placed mask (S, H, W), the sagittal-axis alignment (ds, dy, dx) and per-reference details."""

    mask: np.ndarray
    alignment: tuple[int, ...]
    details: list[dict]


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...]:
    """Slices of the mask's bounding box grown by ``margin`` (clipped to the array)."""
    where = np.nonzero(mask)
    if where[0].size == 0:
        raise ValueError("mask: empty, expected at least one brain voxel to build a template")
    return tuple(slice(max(int(w.min()) - margin, 0), min(int(w.max()) + margin + 1, n))
                 for w, n in zip(where, mask.shape))


def plain_shift(image: np.ndarray, kernel: np.ndarray, box: tuple[slice, ...]) -> tuple[tuple[int, ...], float]:
    """(displacement of the uncropped reference, peak) of the plain cross-correlation of ``image`` with
    ``kernel`` = reference[box]: argmax_d sum_p image(p + d) kernel(p)."""
    correlation = fftconvolve(image, kernel[(slice(None, None, -1),) * kernel.ndim], mode="full")
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    shift = tuple(int(p - (k - 1) - b.start) for p, k, b in zip(peak, kernel.shape, box))
    return shift, float(correlation[peak])


def ncc_shift(image: np.ndarray, kernel: np.ndarray, box: tuple[slice, ...],
              centre: tuple[int, ...] | None = None, window: int | None = None) -> tuple[tuple[int, ...], float]:
    """(displacement, peak) of the normalised cross-correlation (zero padding: partial overlaps at the
    border count); with ``centre`` and ``window`` only displacements within ``window`` of ``centre``
    (per axis) are considered."""
    correlation = match_template(image.astype(np.float32), kernel.astype(np.float32), pad_input=True)  # image's shape
    shifts = [np.arange(n) - k // 2 - b.start for n, k, b in zip(correlation.shape, kernel.shape, box)]
    if centre is not None and window is not None:
        keep = np.ones(correlation.shape, bool)
        for axis, (values, c) in enumerate(zip(shifts, centre)):
            outside = np.abs(values - c) > window
            keep[(slice(None),) * axis + (outside,)] = False
        correlation = np.where(keep, correlation, -np.inf)
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    return tuple(int(values[p]) for values, p in zip(shifts, peak)), float(correlation[peak])


def paste(mask: np.ndarray, shift: tuple[int, ...]) -> np.ndarray:
    """``mask`` moved by ``shift`` (zero fill)."""
    return shift_image(mask, shift).astype(bool)


def _slice_template(reference: Reference, index: int) -> tuple[np.ndarray, tuple[slice, slice]] | None:
    """(template crop, box) of reference slice ``index``, None when it holds no brain or is out of range."""
    if not 0 <= index < len(reference.mask) or not reference.mask[index].any():
        return None
    box = bounding_box(reference.mask[index])
    return reference.template[index][box], box


def place_paper(enhanced: np.ndarray, reference: Reference) -> Placed:
    """The paper's placement with one reference (see the module docstring)."""
    box = bounding_box(reference.mask)
    alignment, _ = plain_shift(enhanced, reference.template[box], box)
    ds = alignment[0]
    placed = np.zeros(enhanced.shape, bool)
    for s in range(len(enhanced)):
        found = _slice_template(reference, s - ds)
        if found is None:
            continue
        shift, _ = plain_shift(enhanced[s], *found)
        placed[s] = paste(reference.mask[s - ds], shift)
    return Placed(placed, alignment, [{"reference": reference.subject_id, "alignment": alignment}])


def rotate_reference(reference: Reference, angle: float) -> Reference:
    """The reference rotated by ``angle`` degrees in the sagittal (H, W) plane about its brain centre."""
    if angle == 0:
        return reference
    centre = np.array(ndimage.center_of_mass(reference.mask))[1:]
    theta = np.deg2rad(angle)
    matrix = np.array([[1, 0, 0], [0, np.cos(theta), -np.sin(theta)], [0, np.sin(theta), np.cos(theta)]])
    offset = np.concatenate([[0.0], centre - matrix[1:, 1:] @ centre])
    mask = ndimage.affine_transform(reference.mask.astype(np.float32), matrix, offset=offset, order=1) > 0.5
    template = ndimage.affine_transform(reference.template, matrix, offset=offset, order=1) * mask
    return Reference(reference.subject_id, mask, template.astype(np.float32))


def align_reference(enhanced: np.ndarray, reference: Reference, angles) -> tuple[Reference, tuple[int, ...], float, float]:
    """(rotated reference, 3-D displacement, NCC peak, angle) of the best angle by normalised correlation."""
    best = None
    for angle in angles:
        rotated = rotate_reference(reference, angle)
        box = bounding_box(rotated.mask)
        shift, peak = ncc_shift(enhanced, rotated.template[box], box)
        if best is None or peak > best[2]:
            best = (rotated, shift, peak, float(angle))
    return best


def refine_slices(enhanced: np.ndarray, reference: Reference, alignment: tuple[int, ...], window: int,
                  level_search: int) -> np.ndarray:
    """Per test slice: the reference slice (levels s - ds +- level_search) and 2-D shift (within ``window``
    of the 3-D one) with the highest normalised correlation; its mask pasted there."""
    ds, dy, dx = alignment
    placed = np.zeros(enhanced.shape, bool)
    for s in range(len(enhanced)):
        best = None
        for level in range(s - ds - level_search, s - ds + level_search + 1):
            found = _slice_template(reference, level)
            if found is None:
                continue
            shift, peak = ncc_shift(enhanced[s], *found, centre=(dy, dx), window=window)
            if best is None or peak > best[0]:
                best = (peak, level, shift)
        nominal = _slice_template(reference, s - ds)
        if best is not None and nominal is not None:  # slices beyond the aligned reference brain stay empty
            placed[s] = paste(reference.mask[best[1]], best[2])
    return placed


def place_multi(enhanced: np.ndarray, references: list[Reference], angles=(0.0,), window: int = 6,
                level_search: int = 1, min_votes: float = 0.5) -> Placed:
    """Our placement: every reference aligned (angle + 3-D shift), refined per slice, fused by vote."""
    votes = np.zeros(enhanced.shape, np.float32)
    details = []
    for reference in references:
        rotated, alignment, peak, angle = align_reference(enhanced, reference, angles)
        votes += refine_slices(enhanced, rotated, alignment, window, level_search)
        details.append({"reference": reference.subject_id, "angle": angle, "alignment": alignment, "ncc": peak})
    fused = votes >= min_votes * len(references)
    return Placed(fused, details[int(np.argmax([d["ncc"] for d in details]))]["alignment"], details)
