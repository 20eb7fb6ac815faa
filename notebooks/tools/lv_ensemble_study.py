"""Sunnybrook / ACDC Dice of LV checkpoints alone and averaged (lv-gap-cam, #11: is the miss variance or bias?).

    python notebooks/tools/lv_ensemble_study.py KIND FOLDER CKPT CKPT [CKPT ...]

KIND is ``sunnybrook`` (FOLDER holds studies with a ``link.csv``) or ``acdc`` (FOLDER's ``val.list``). Each
checkpoint's probabilities are ``scoring.native_probabilities`` (its own preprocessing and test-time averaging,
on the native grid); the ensemble is the argmax of their mean, p = 1/M sum_m p_m, then the first checkpoint's
largest-component step, scored as ``medinterp evaluate`` scores one model. One torch thread.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from medinterp_widgets.data.preprocessing import from_checkpoint
from medinterp_widgets.pipelines.lv_gap_cam.scoring import (
    case_rows,
    load_cases,
    native_probabilities,
    postprocess,
    summarise,
)
from medinterp_widgets.training.checkpoints import load_checkpoint, model_from_checkpoint


def _score(probabilities: list[np.ndarray], spec, cases) -> str:
    masks = postprocess([p.argmax(axis=0).astype(np.uint8) for p in probabilities], spec, cases)
    summary = summarise(case_rows(masks, spec, cases))
    return f"Dice {summary['dice_mean']:.4f}  APD {summary['apd_mm_mean']:.2f} mm  (n {summary['n']})"


def main(kind: str, folder: str, checkpoints: list[str]) -> None:
    torch.set_num_threads(1)
    cases = load_cases(kind, folder, "val" if kind == "acdc" else None, [])
    total, first_spec = None, None
    for checkpoint in checkpoints:
        payload = load_checkpoint(checkpoint)
        spec = from_checkpoint(payload, checkpoint)
        if spec is None:
            raise SystemExit(f"{checkpoint}: no stored preprocessing (not an lv-gap-cam checkpoint)")
        first_spec = first_spec or spec
        probabilities = [p.numpy() for p in native_probabilities(model_from_checkpoint(payload), spec, cases)]
        total = probabilities if total is None else [a + b for a, b in zip(total, probabilities)]
        print(checkpoint, _score(probabilities, spec, cases), flush=True)
    print("mean of the probabilities", _score(total, first_spec, cases))


if __name__ == "__main__":
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
