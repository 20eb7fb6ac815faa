"""Overlap measures on the real MedSeg COVID-19 lesion masks: exact and chance-level reference values."""

import cv2
import numpy as np
import pytest
from scipy import ndimage

from medinterp_widgets.metrics import consistent_degree, dice, heatmap_overlap

pytestmark = pytest.mark.data


def _lesions(root, count=6):
    folder = root / "LungInfection-Train" / "Doctor-label" / "GT"
    masks = []
    for path in sorted(folder.glob("*.png"))[:count * 2]:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is not None and (image > 127).any():
            masks.append(image > 127)  # 0/255 infection mask
    return masks[:count]


def test_reference_values_on_lesion_masks(real_dataset):
    masks = _lesions(real_dataset("covid_ct_lesions"))
    assert masks
    rng = np.random.default_rng(0)
    for lesion in masks:
        assert consistent_degree(lesion.astype(float), lesion) == 1.0  # the lesion explains itself
        noise = rng.random(lesion.shape)
        # uniform noise: 30% of pixels reach 0.7, wherever the lesion is
        assert consistent_degree(noise, lesion) == pytest.approx(0.3, abs=0.05)
        assert heatmap_overlap(noise, lesion) == pytest.approx(lesion.mean(), rel=0.1, abs=0.002)
        blurred = ndimage.gaussian_filter(lesion.astype(float), 3)
        assert heatmap_overlap(blurred, lesion) > 0.7
        assert dice(lesion, lesion) == 1.0
