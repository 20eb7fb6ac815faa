"""Sunnybrook Dice of an LV checkpoint against the P(LV) threshold (lv-gap-cam, #11).

    python notebooks/tools/lv_threshold_study.py CKPT FOLDER [FOLDER ...]

Each FOLDER holds Sunnybrook studies in the shared layout (a ``link.csv``). The probabilities are those of
``scoring.predict_native`` (the checkpoint's preprocessing and test-time averaging, restored to the native
grid); the mask is P(LV) > t for t in 0.3..0.8 (0.5 is what the pipeline and ``evaluate`` use), then the
checkpoint's largest-component step; Dice per slice, averaged as ``evaluate`` does. One torch thread.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from medinterp_widgets import metrics
from medinterp_widgets.data.preprocessing import map_labels, prepare, restore_probabilities
from medinterp_widgets.models.test_time import predict_softmax
from medinterp_widgets.pipelines.lv_gap_cam.scoring import from_checkpoint, load_cases, postprocess
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def lv_probabilities(model, spec, cases) -> list[np.ndarray]:
    """P(LV) of each case on its native grid."""
    found = []
    with torch.no_grad():
        for case in cases:
            item = prepare(spec, case.image)
            probabilities = predict_softmax(model, torch.from_numpy(item.x[None]), spec.test_time)[0]
            found.append(restore_probabilities(probabilities, item.geometry)[1].numpy())
    return found


def main(checkpoint: str, folders: list[str]) -> None:
    torch.set_num_threads(1)
    payload = load_checkpoint(checkpoint)
    spec, model = from_checkpoint(payload, checkpoint), model_from_checkpoint(payload).eval()
    if spec is None:
        raise SystemExit(f"{checkpoint}: no stored preprocessing (not an lv-gap-cam checkpoint)")
    for folder in folders:
        cases = load_cases("sunnybrook", folder, None, [])
        truths = [map_labels(case.label, spec.label_map(case.kind)) == 1 for case in cases]
        probabilities = lv_probabilities(model, spec, cases)
        scores = []
        for threshold in THRESHOLDS:
            masks = postprocess([(p > threshold).astype(np.uint8) for p in probabilities], spec, cases)
            scores.append(f"{threshold:.1f}: {np.mean([metrics.dice(m == 1, t) for m, t in zip(masks, truths)]):.4f}")
        print(folder, "  ".join(scores), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
