"""Overlap metrics for segmentation masks (numpy or torch in, Python floats / numpy arrays out).

Binary masks are bool or 0/1 arrays of any shape (2-D slice, 3-D volume, a batch: the whole array is
one set of voxels). Empty-mask rule, shared by every function here: when prediction and truth are
both empty the score is ``empty`` (1.0 by default: nothing to find, nothing found); when exactly one
is empty the score is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medinterp_widgets.metrics._arrays import check_same_shape, to_binary_mask, to_label_map


def _overlap_counts(pred: Any, truth: Any) -> tuple[int, int, int]:
    """(|P ∩ T|, |P|, |T|) for two binary masks of equal shape."""
    pred_mask = to_binary_mask(pred, "pred")
    truth_mask = to_binary_mask(truth, "truth")
    check_same_shape(pred_mask, truth_mask, ("pred", "truth"))
    both = int(np.count_nonzero(pred_mask & truth_mask))
    return both, int(np.count_nonzero(pred_mask)), int(np.count_nonzero(truth_mask))


def dice(pred: Any, truth: Any, *, empty: float = 1.0) -> float:
    """Dice coefficient 2|P ∩ T| / (|P| + |T|) of two binary masks; ``empty`` when both are empty."""
    both, n_pred, n_truth = _overlap_counts(pred, truth)
    if n_pred + n_truth == 0:
        return float(empty)
    return 2.0 * both / (n_pred + n_truth)


def iou(pred: Any, truth: Any, *, empty: float = 1.0) -> float:
    """Intersection over union (Jaccard) |P ∩ T| / |P ∪ T|; ``empty`` when both masks are empty.

    Related to Dice by D = 2 J / (1 + J).
    """
    both, n_pred, n_truth = _overlap_counts(pred, truth)
    union = n_pred + n_truth - both
    if union == 0:
        return float(empty)
    return both / union


def _per_class(score, pred_labels, truth_labels, n_classes, ignore_background, empty) -> np.ndarray:
    pred = to_label_map(pred_labels, "pred_labels", n_classes)
    truth = to_label_map(truth_labels, "truth_labels", n_classes)
    check_same_shape(pred, truth, ("pred_labels", "truth_labels"))
    scores = np.full(n_classes, np.nan)
    for label in range(1 if ignore_background else 0, n_classes):
        scores[label] = score(pred == label, truth == label, empty=empty)
    return scores


def dice_per_class(pred_labels: Any, truth_labels: Any, n_classes: int, *,
                   ignore_background: bool = True, empty: float = 1.0) -> np.ndarray:
    """Dice of each class of two integer label maps, shape (n_classes,).

    Entry k is ``dice(pred == k, truth == k, empty=empty)``; entry 0 is nan when
    ``ignore_background`` (so ``np.nanmean`` gives the foreground mean).
    """
    return _per_class(dice, pred_labels, truth_labels, n_classes, ignore_background, empty)


def iou_per_class(pred_labels: Any, truth_labels: Any, n_classes: int, *,
                  ignore_background: bool = True, empty: float = 1.0) -> np.ndarray:
    """IoU of each class of two integer label maps, shape (n_classes,); like ``dice_per_class``."""
    return _per_class(iou, pred_labels, truth_labels, n_classes, ignore_background, empty)
