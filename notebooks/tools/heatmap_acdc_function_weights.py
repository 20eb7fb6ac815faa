"""The ACDC arm's out-of-fold balanced accuracy at other cardiac-function weights, from a run's saved parts.

Every ``acdc-<loss>/out-of-fold.npz`` of a heatmap-loss run holds the labels and each term's out-of-fold
P(diseased) per repeat (``cnn``, ``function``: (repeats, patients)); this rescores (1 - w) cnn + w function
with the pipeline's ``cross_validated_scores`` for a few w (0: the CNN alone, 1: the function term alone).

    python notebooks/tools/heatmap_acdc_function_weights.py RUN/acdc-ce/out-of-fold.npz [...] [--weights 0,0.5,1]
"""

import sys

import numpy as np

from medinterp_widgets.pipelines.heatmap_loss.acdc_arm import cross_validated_scores


def main(argv: list[str]) -> None:
    weights = [0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    if "--weights" in argv:
        at = argv.index("--weights")
        weights = [float(w) for w in argv[at + 1].split(",")]
        argv = argv[:at] + argv[at + 2:]
    for path in argv:
        parts = np.load(path)
        print(path)
        for w in weights:
            s = cross_validated_scores(parts["labels"], (1 - w) * parts["cnn"] + w * parts["function"])
            print(f"  w={w:<4g} BA {s['balanced_accuracy']:.3f}  AUC {s['auc']:.3f}  "
                  f"sensitivity {s['sensitivity']:.3f}  specificity {s['specificity']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
