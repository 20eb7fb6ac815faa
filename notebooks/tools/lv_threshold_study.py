"""Sunnybrook Dice of an LV checkpoint against the P(LV) threshold (lv-gap-cam, #11).

    python notebooks/tools/lv_threshold_study.py CKPT FOLDER [FOLDER ...]

Each FOLDER holds Sunnybrook studies in the shared layout (a ``link.csv``). The probabilities are
``scoring.native_probabilities``, whose argmax ``predict_native`` takes (the checkpoint's preprocessing and
test-time averaging, restored to the native grid); the mask is P(LV) > t for t in 0.3..0.8 (0.5 is what the
pipeline and ``evaluate`` use), then the checkpoint's largest-component step; Dice per slice, averaged as
``evaluate`` does. One torch thread.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from medinterp_widgets import metrics
from medinterp_widgets.data.preprocessing import map_labels
from medinterp_widgets.pipelines.lv_gap_cam.scoring import (
    from_checkpoint,
    load_cases,
    native_probabilities,
    postprocess,
)
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def main(checkpoint: str, folders: list[str]) -> None:
    torch.set_num_threads(1)
    payload = load_checkpoint(checkpoint)
    spec, model = from_checkpoint(payload, checkpoint), model_from_checkpoint(payload).eval()
    if spec is None:
        raise SystemExit(f"{checkpoint}: no stored preprocessing (not an lv-gap-cam checkpoint)")
    for folder in folders:
        cases = load_cases("sunnybrook", folder, None, [])
        truths = [map_labels(case.label, spec.label_map(case.kind)) == 1 for case in cases]
        probabilities = [probs[1].numpy() for probs in native_probabilities(model, spec, cases)]
        scores = []
        for threshold in THRESHOLDS:
            masks = postprocess([(p > threshold).astype(np.uint8) for p in probabilities], spec, cases)
            scores.append(f"{threshold:.1f}: {np.mean([metrics.dice(m == 1, t) for m, t in zip(masks, truths)]):.4f}")
        print(folder, "  ".join(scores), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
