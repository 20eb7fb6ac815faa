"""Whole-volume measures per animal and the paper's two tables.

Every measure counts the voxels of one animal's whole volume (all slices together), never a mean of
per-slice scores. For one structure (brain, WM, GM or CSF) against the rest: precision TP/(TP+FP),
specificity TN/(TN+FP), sensitivity TP/(TP+FN), accuracy and DSC = 2TP/(2TP+FP+FN). DSC is the
harmonic mean of precision and sensitivity; the paper's column named "specificity" is that precision
(its DSC is the harmonic mean of its "specificity" and sensitivity in all seven rows).

Paper's numbers (Matos et al., "Interpretability of a Deep Learning Model for Rodents Brain Semantic
Segmentation", AIAI 2019, IFIP AICT 559, Springer): the four DSC cells quoted by issue #12 from its Table 2
(brain after GBP placement 99.12; WM / GM / CSF after GBP background removal 86.05 / 76.76 / 60.15). The
chapter is behind the publisher's paywall; the searchable stores (web pages, documentation, code) hold
only its abstract, so Table 1 (WM / GM / CSF after true-mask removal: all four columns) and the
"specificity" (= precision), sensitivity and accuracy cells of Table 2 were not found: they are left
empty (``None``) and the report names them, rather than guessing.
"""

from __future__ import annotations

import numpy as np

from medinterp_widgets.metrics import confusion_metrics

TISSUES = {1: "WM", 2: "GM", 3: "CSF"}
COLUMNS = ("precision", "specificity", "sensitivity", "accuracy", "DSC")
PAPER_DSC = {  # table -> structure -> DSC in % (None: cell not found, see the module docstring)
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


PAPER_COLUMNS = {"specificity": 'paper "specificity" (= precision) %', "sensitivity": "paper sensitivity %",
                 "accuracy": "paper accuracy %", "DSC": "paper DSC %"}  # the paper's four columns, its names


def paper_table(ours: list[dict], table: str) -> list[dict]:
    """Our mean rows (values in %) with the paper's four columns beside them (empty = cell not found)."""
    paper = PAPER_DSC[table]
    return [{"structure": row["structure"], **{f"{c} %": 100 * row[c] for c in COLUMNS},
             **{name: paper.get(row["structure"]) if column == "DSC" else None
                for column, name in PAPER_COLUMNS.items()}} for row in ours]


def missing_paper_cells() -> list[str]:
    """'<table>: <structure> <column>' for every cell of the paper's tables that is not quoted."""
    return [f"{table}: {structure} {column}" for table, cells in PAPER_DSC.items() for structure, dsc in cells.items()
            for column in PAPER_COLUMNS if column != "DSC" or dsc is None]
