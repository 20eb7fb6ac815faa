"""Metrics: segmentation, classification, attribution overlap, group statistics, embeddings.

Numpy functions accept numpy arrays or torch tensors (never mutated) and return floats / arrays;
``*_torch`` functions are batched and differentiable for training.
"""

from medinterp_widgets.metrics.classification import (
    confusion_metrics,
    midpoint_threshold,
    one_vs_rest_metrics,
    pixel_accuracy,
    roc_auc,
)
from medinterp_widgets.metrics.distance import (
    average_perpendicular_distance,
    hausdorff_distance,
    mask_contours,
    point_to_contour_distances,
)
from medinterp_widgets.metrics.embedding import EMBEDDING_METHODS, embed, subsample_indices
from medinterp_widgets.metrics.overlap import (
    consistent_degree,
    heatmap_overlap,
    heatmap_overlap_torch,
    normalise_unit,
    normalize_unit,
)
from medinterp_widgets.metrics.segmentation import dice, dice_per_class, iou, iou_per_class
from medinterp_widgets.metrics.statistics import (
    GroupComparison,
    cohens_d,
    compare_groups,
    filtered_cohens_d,
    iqr_filter,
)
from medinterp_widgets.metrics.torch_metrics import dice_per_class_torch, dice_torch, iou_torch

__all__ = [
    "confusion_metrics", "midpoint_threshold", "one_vs_rest_metrics", "pixel_accuracy", "roc_auc",
    "consistent_degree", "heatmap_overlap", "heatmap_overlap_torch", "normalise_unit", "normalize_unit",
    "average_perpendicular_distance", "hausdorff_distance", "mask_contours", "point_to_contour_distances",
    "GroupComparison", "cohens_d", "compare_groups", "filtered_cohens_d", "iqr_filter",
    "dice", "dice_per_class", "iou", "iou_per_class",
    "dice_per_class_torch", "dice_torch", "iou_torch",
    "EMBEDDING_METHODS", "embed", "subsample_indices",
]
