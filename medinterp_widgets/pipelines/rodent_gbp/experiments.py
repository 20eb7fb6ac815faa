"""The paper's two robustness experiments on a test animal.

- Translation (Fig. 3): the unmasked middle slice (with its neighbours when the input has them) moved
  by each of ``config.shifts``; does the guided-backprop map follow (phase correlation of |GBP| against
  the unmoved slice's), and does the paper's placement (plain 2-D correlation with its reference slice)
  recover the shift?
- Noise (Fig. 4): Rician noise of each of ``config.noise_levels`` (sigma on the 0..1 input scale)
  added to the whole unmasked volume; GBP, the paper's placement and the re-segmentations again,
  scored over the whole volume.
"""

from __future__ import annotations

import numpy as np
from skimage.registration import phase_cross_correlation

from medinterp_widgets.data.synthetic.shapes import rician_noise

from .config import Config
from .data import Animal, model_channels, network_input
from .gbp import remove_background, shift_image
from .measures import binary_measures, tissue_measures
from .placement import Reference, bounding_box, paste, place_paper, plain_shift
from .steps import enhanced_gbp, segment


def saliency_shift(moved: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(dy, dx) that carries the ``reference`` saliency map onto ``moved`` (phase correlation of |maps|);
    (nan, nan) when either map is all zero (no predicted brain, nothing to follow)."""
    if not (np.any(moved) and np.any(reference)):
        return float("nan"), float("nan")
    shift, _, _ = phase_cross_correlation(np.abs(moved), np.abs(reference), normalization=None)
    return float(shift[0]), float(shift[1])


def middle_slice(animal: Animal) -> int:
    """The slice with the most brain."""
    return int(np.argmax(animal.mask.reshape(len(animal.mask), -1).sum(1)))


def translation_experiment(model, animal: Animal, analysis, refs: list[Reference], config: Config,
                           device) -> tuple[list, dict]:
    """Rows (true / saliency / recovered shift, error, placed-mask DSC) and the arrays for the figure.

    The template is the paper placement's reference slice for the middle slice (its sagittal alignment
    from ``analysis``); each moved slice is placed by the plain 2-D correlation, as in the paper.
    """
    index = middle_slice(animal)
    slab, truth = network_input(animal.unmasked, model_channels(model))[index], animal.mask[index]  # (C, H, W)
    reference = refs[min(max(config.reference_animal, 1), len(refs)) - 1]
    level = int(np.clip(index - analysis.placed["paper"].alignment[0], 0, len(reference.mask) - 1))
    if not reference.mask[level].any():
        level = int(np.argmax(reference.mask.reshape(len(reference.mask), -1).sum(1)))
    box = bounding_box(reference.mask[level])
    template = reference.template[level][box]
    moved = np.stack([shift_image(slab, (0, *shift)) for shift in config.shifts])  # every channel moved alike
    gradients, enhanced = enhanced_gbp(model, np.concatenate([slab[None], moved]), config, device)
    base, _ = plain_shift(enhanced[0], template, box)
    rows, masks = [], []
    for (dy, dx), gradient, mapped in zip(config.shifts, gradients[1:], enhanced[1:]):
        sy, sx = saliency_shift(gradient, gradients[0])
        found, _ = plain_shift(mapped, template, box)
        masks.append(paste(reference.mask[level], found))
        ry, rx = found[0] - base[0], found[1] - base[1]
        rows.append({"true dy": dy, "true dx": dx, "saliency dy": sy, "saliency dx": sx, "recovered dy": ry,
                     "recovered dx": rx, "error px": float(np.hypot(ry - dy, rx - dx)),
                     "placed DSC": binary_measures(masks[-1], shift_image(truth, (dy, dx)))["DSC"]})
    arrays = {"images": moved[:, len(slab) // 2], "gradients": gradients[1:], "enhanced": enhanced[1:],
              "masks": np.stack(masks),
              "slice": index, "reference": f"{reference.subject_id} slice {level}"}
    return rows, arrays


def noise_experiment(model, animal: Animal, refs: list[Reference], config: Config, device) -> tuple[list, dict]:
    """Rows per noise level (placed-mask DSC, tissue DSC after GBP and true-mask removal) and the
    middle slice's input / enhanced map at each level for the figure."""
    rng = np.random.default_rng(config.seed + 4)
    index = middle_slice(animal)
    reference = refs[min(max(config.reference_animal, 1), len(refs)) - 1]
    rows, shown = [], {"images": [], "enhanced": [], "levels": list(config.noise_levels), "slice": index}
    for sigma in config.noise_levels:
        noisy = np.clip(rician_noise(rng, animal.unmasked, sigma), 0, 1) if sigma > 0 else animal.unmasked
        _, enhanced = enhanced_gbp(model, noisy, config, device)
        placed = place_paper(enhanced, reference).mask
        gbp = tissue_measures(segment(model, remove_background(noisy, placed), device), animal.tissue)
        true = tissue_measures(segment(model, remove_background(noisy, animal.mask), device), animal.tissue)
        rows.append({"noise sigma": sigma, "brain DSC (GBP mask)": binary_measures(placed, animal.mask)["DSC"],
                     **{f"{name} DSC (GBP mask)": values["DSC"] for name, values in gbp.items()},
                     **{f"{name} DSC (true mask)": values["DSC"] for name, values in true.items()}})
        shown["images"].append(noisy[index])
        shown["enhanced"].append(enhanced[index])
    return rows, shown
