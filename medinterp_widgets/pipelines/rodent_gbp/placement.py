"""Mask placement: correlate a test animal's enhanced GBP volume with reference templates.

A ``Reference`` is one training animal's brain mask M, its enhanced GBP map f and its GBP feature map
(log-compressed |GBP|, see ``gbp.feature_map``), all (S, H, W) sagittal stacks; its template is M * f.
The animals' sagittal slices start at different left-right offsets (the first brain slice is voxel
15-23), so slice numbers do not match between animals: both placements first align the sagittal
axis by a 3-D cross-correlation of the test volume with the template volume, giving (ds, dy, dx);
reference slice s - ds then serves test slice s.

- ``place_paper`` (the paper): one reference; after the sagittal alignment each slice's mask is put
  at the peak of the plain 2-D cross-correlation sum_p f_test(p + d) T(p) of that slice.
- ``place_multi`` (ours): every reference, rotated in the sagittal plane over ``angles``; the
  normalised cross-correlation (``skimage.feature.match_template``) picks each reference's angle and
  3-D offset; then (``flow=True``) a TV-L1 optical flow from the test animal's GBP feature map to the
  aligned reference's deforms the reference mask onto the test animal; the references' masks are
  fused by majority vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import fftconvolve
from skimage.feature import match_template
from skimage.registration import optical_flow_tvl1
from skimage.transform import warp

from .gbp import shift_image


@dataclass(frozen=True)
class Reference:
    """A training animal's mask (S, H, W) bool, enhanced GBP map and GBP feature map (float32)."""

    subject_id: str
    mask: np.ndarray
    enhanced: np.ndarray
    feature: np.ndarray

    @classmethod
    def build(cls, subject_id: str, mask: np.ndarray, enhanced: np.ndarray, feature: np.ndarray | None = None):
        enhanced = np.asarray(enhanced, np.float32)
        return cls(subject_id, np.asarray(mask, bool), enhanced,
                   enhanced if feature is None else np.asarray(feature, np.float32))

    @property
    def template(self) -> np.ndarray:
        """mask * enhanced GBP: the correlation template."""
        return self.mask * self.enhanced


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


def ncc_shift(image: np.ndarray, kernel: np.ndarray, box: tuple[slice, ...]) -> tuple[tuple[int, ...], float]:
    """(displacement, peak) of the normalised cross-correlation (zero padding: partial overlaps at the
    border count)."""
    correlation = match_template(image.astype(np.float32), kernel.astype(np.float32), pad_input=True)  # image's shape
    shifts = [np.arange(n) - k // 2 - b.start for n, k, b in zip(correlation.shape, kernel.shape, box)]
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    return tuple(int(values[p]) for values, p in zip(shifts, peak)), float(correlation[peak])


def paste(mask: np.ndarray, shift: tuple[int, ...]) -> np.ndarray:
    """``mask`` moved by ``shift`` (zero fill)."""
    return shift_image(mask, shift).astype(bool)


def place_paper(enhanced: np.ndarray, reference: Reference) -> Placed:
    """The paper's placement with one reference (see the module docstring)."""
    template = reference.template
    box = bounding_box(reference.mask)
    alignment, _ = plain_shift(enhanced, template[box], box)
    ds = alignment[0]
    placed = np.zeros(enhanced.shape, bool)
    for s in range(len(enhanced)):
        level = s - ds
        if not 0 <= level < len(reference.mask) or not reference.mask[level].any():
            continue
        slice_box = bounding_box(reference.mask[level])
        shift, _ = plain_shift(enhanced[s], template[level][slice_box], slice_box)
        placed[s] = paste(reference.mask[level], shift)
    return Placed(placed, alignment, [{"reference": reference.subject_id, "alignment": alignment}])


def transform_reference(reference: Reference, angle: float = 0.0, shift=(0, 0, 0)) -> Reference:
    """The reference rotated by ``angle`` degrees in the sagittal (H, W) plane about its brain centre,
    then moved by ``shift`` (maps linear, mask thresholded at 0.5)."""
    centre = np.array(ndimage.center_of_mass(reference.mask))[1:]
    theta = np.deg2rad(angle)
    matrix = np.array([[1, 0, 0], [0, np.cos(theta), -np.sin(theta)], [0, np.sin(theta), np.cos(theta)]])
    offset = np.concatenate([[0.0], centre - matrix[1:, 1:] @ centre]) - matrix @ np.asarray(shift, float)

    def move(array: np.ndarray) -> np.ndarray:
        return ndimage.affine_transform(array.astype(np.float32), matrix, offset=offset, order=1)

    return Reference(reference.subject_id, move(reference.mask) > 0.5, move(reference.enhanced),
                     move(reference.feature))


def align_reference(enhanced: np.ndarray, reference: Reference, angles) -> tuple[Reference, dict]:
    """(reference rotated and moved onto the test volume, details) for the best angle by normalised correlation."""
    best = None
    for angle in angles:
        rotated = transform_reference(reference, angle) if angle else reference
        box = bounding_box(rotated.mask)
        shift, peak = ncc_shift(enhanced, rotated.template[box], box)
        if best is None or peak > best[0]:
            best = (peak, float(angle), shift)
    peak, angle, shift = best
    return transform_reference(reference, angle, shift), {"reference": reference.subject_id, "angle": angle,
                                                         "alignment": shift, "ncc": peak}


def flow_warp(feature: np.ndarray, reference: Reference, iterations: int = 20, warps: int = 3,
              attachment: float = 10.0, margin: int = 8) -> np.ndarray:
    """The reference mask deformed by the TV-L1 optical flow that carries the reference feature map onto
    ``feature`` (computed inside the mask's bounding box grown by ``margin``)."""
    box = bounding_box(reference.mask, margin)
    flow = optical_flow_tvl1(feature[box], reference.feature[box], attachment=attachment, num_warp=warps,
                             num_iter=iterations)
    grid = np.meshgrid(*[np.arange(b.stop - b.start) for b in box], indexing="ij")
    warped = np.zeros(reference.mask.shape, bool)
    moved = warp(reference.mask[box].astype(np.float32), np.stack([g + f for g, f in zip(grid, flow)]), order=1)
    warped[box] = moved > 0.5
    return warped


def place_multi(enhanced: np.ndarray, feature: np.ndarray, references: list[Reference], angles=(0.0,),
                flow: bool = True, flow_iterations: int = 20, min_votes: float = 0.5) -> Placed:
    """Our placement: every reference aligned (angle + 3-D shift), deformed by optical flow, fused by vote."""
    votes = np.zeros(enhanced.shape, np.float32)
    details = []
    for reference in references:
        aligned, detail = align_reference(enhanced, reference, angles)
        votes += flow_warp(feature, aligned, flow_iterations) if flow else aligned.mask
        details.append(detail)
    fused = votes >= min_votes * len(references)
    return Placed(fused, details[int(np.argmax([d["ncc"] for d in details]))]["alignment"], details)
