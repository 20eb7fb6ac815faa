"""Whole-volume measures per animal and the paper's two tables.

Every measure counts the voxels of one animal's whole volume (all slices together), never a mean of
per-slice scores. For one structure (brain, WM, GM or CSF) against the rest: precision TP/(TP+FP),
specificity TN/(TN+FP), sensitivity TP/(TP+FN), accuracy and DSC = 2TP/(2TP+FP+FN). DSC is the
harmonic mean of precision and sensitivity; the paper's column named "specificity" is that precision
(its DSC is the harmonic mean of its "specificity" and sensitivity in all seven rows).

Paper's numbers (Matos et al.): only the DSC cells below were available to us (brain after GBP
placement 99.12; WM / GM / CSF after GBP background removal 86.05 / 76.76 / 60.15); the other cells
of Tables 1 and 2 could not be looked up offline and are left empty rather than guessed.
"""

from __future__ import annotations

import numpy as np

from medinterp_widgets.metrics import confusion_metrics

TISSUES = {1: "WM", 2: "GM", 3: "CSF"}
COLUMNS = ("precision", "specificity", "sensitivity", "accuracy", "DSC")
PAPER_DSC = {  # table -> structure -> DSC in % (None: not yet quoted, paper text not reachable offline)
    "Table 1 (true mask)": {"WM": None, "GM": None, "CSF": None},
    "Table 2 (GBP mask)": {"brain": 99.12, "WM": 86.05, "GM": 76.76, "CSF": 60.15},
}


def binary_measures(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """precision, specificity, sensitivity, accuracy and DSC of one binary prediction over all voxels."""
    rates = confusion_metrics(np.asarray(truth, bool), np.asarray(pred, bool), positive=True,
                              zero_division=float("nan"))
    return {"precision": rates["ppv"], "specificity": rates["specificity"], "sensitivity": rates["sensitivity"],
            "accuracy": rates["accuracy"], "DSC": rates["f1"]}


def tissue_measures(pred_labels: np.ndarray, truth_labels: np.ndarray) -> dict[str, dict[str, float]]:
    """{"WM": measures, "GM": .., "CSF": ..} of label volumes (0 bg, 1 WM, 2 GM, 3 CSF)."""
    return {name: binary_measures(pred_labels == c, truth_labels == c) for c, name in TISSUES.items()}


def rows(animal: str, condition: str, measures: dict[str, dict[str, float]]) -> list[dict]:
    """Table rows ``animal, condition, structure, precision, specificity, sensitivity, accuracy, DSC``."""
    return [{"animal": animal, "condition": condition, "structure": name, **values}
            for name, values in measures.items()]


def mean_rows(table: list[dict], condition: str) -> list[dict]:
    """Mean over animals of each structure's measures in ``table`` rows of one ``condition``."""
    selected = [row for row in table if row["condition"] == condition]
    names = list(dict.fromkeys(row["structure"] for row in selected))
    out = []
    for name in names:
        group = [row for row in selected if row["structure"] == name]
        out.append({"structure": name, **{c: nan_mean([row[c] for row in group]) for c in COLUMNS},
                    "animals": len(group)})
    return out


def nan_mean(values) -> float:
    """Mean of the finite values; nan (without a warning) when there are none."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def paper_table(ours: list[dict], table: str) -> list[dict]:
    """Our mean rows (values in %) with the paper's DSC beside them ('paper DSC' empty where unknown)."""
    paper = PAPER_DSC[table]
    return [{"structure": row["structure"], **{f"{c} %": 100 * row[c] for c in COLUMNS},
             "paper DSC %": paper.get(row["structure"])} for row in ours]
