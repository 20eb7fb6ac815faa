"""The thesis's statistics of the synthetic groups, in its conventions, with its numbers beside ours.

Per comparison (heatmap-loss group vs the ``ce`` group of a dataset, kept models only) and metric:
Shapiro-Wilk per group, then Welch's t-test when both look normal (p > alpha), else Mann-Whitney U
(two-sided); Cohen's d and the common-language effect size CL = P(ce > heatmap). The sign convention
is the thesis's: the baseline first, so d < 0 and CL ~ 0 where the heatmap loss raises a metric.
Cohen's d is also given after the thesis's outlier filters (values outside Q1 - k IQR .. Q3 + k IQR
of each group removed, k = 1.5 and k = 5).
"""

from __future__ import annotations

import math

import numpy as np

from medinterp_widgets.metrics import compare_groups, filtered_cohens_d

from .study import ModelResult

# the thesis's results (quoted in issue 13): p-values are orders of magnitude, "~" in its text
THESIS = {
    "exp1_heart": {"p_value": 1e-9, "cohens_d": -10.78, "common_language": 0.0},
    "exp2_heart": {"p_value": 1e-8, "cohens_d": -11.88, "common_language": 0.0},
    "exp2_sex": {"p_value": 1e-7, "cohens_d_iqr1.5": 1.84, "cohens_d_iqr5": 1.25, "common_language": 0.95,
                 "shapiro_p_ce": 0.49, "shapiro_p_heatmap": 0.008},
}
METRIC_KEYS = {"heart_overlap": "heart", "marker_overlap": "sex", "test_accuracy": "acc"}
LOSS_KEYS = {"ce": "ce", "hirescam": "hm", "gradcam": "hm_gradcam", "hirescam-norm": "hm_norm",
             "gradcam-norm": "hm_gradcam_norm"}
THESIS_CLAIMS = {"heart_overlap": +1, "marker_overlap": -1}  # +1: the heatmap loss raises the metric
IQR_KS = (1.5, 5.0)


def kept(models: list[ModelResult]) -> list[ModelResult]:
    return [m for m in models if m.kept]


def smallest_p(n_a: int, n_b: int) -> float:
    """Smallest two-sided exact Mann-Whitney p for group sizes n_a, n_b: 2 / C(n_a + n_b, n_a)."""
    return min(1.0, 2 / math.comb(n_a + n_b, n_a)) if n_a and n_b else 1.0


def comparison_row(dataset: str, loss: str, metric: str, baseline: list[float], treated: list[float],
                   alpha: float, baseline_name: str = "ce") -> dict:
    """compare_groups(baseline, treated) in the thesis's convention, + IQR-filtered d and the claim."""
    row = {"dataset": dataset, "comparison": f"{baseline_name} vs {loss}", "metric": metric}
    try:
        result = compare_groups(baseline, treated, alpha=alpha, nan_policy="omit")
    except ValueError as error:  # too few finite values
        return {**row, "error": str(error)}
    row.update({"n_ce": result.n_a, "n_heatmap": result.n_b, "mean_ce": result.mean_a, "mean_heatmap": result.mean_b,
                "sd_ce": result.sd_a, "sd_heatmap": result.sd_b, "shapiro_p_ce": result.shapiro_p_a,
                "shapiro_p_heatmap": result.shapiro_p_b, "test": result.test, "p_value": result.p_value,
                "cohens_d": result.cohens_d, "common_language": result.common_language})
    for k in IQR_KS:
        row[f"cohens_d_iqr{k:g}"] = filtered_cohens_d(baseline, treated, k)
    claim = THESIS_CLAIMS.get(metric)
    if claim is not None:
        direction = np.sign(result.mean_b - result.mean_a)
        row.update({"thesis_claim": "higher" if claim > 0 else "lower",
                    "ours": {1: "higher", -1: "lower"}.get(int(direction), "equal"),
                    "agrees": bool(direction == claim and result.significant)})
    return row


def statistics_rows(groups: dict[str, dict[str, list[ModelResult]]], has_marker: dict[str, bool],
                    alpha: float) -> tuple[list[dict], list[str]]:
    """One row per (dataset, heatmap-loss group vs ce, metric), plus each normalised variant vs its thesis
    counterpart; notes on groups too small to reach significance."""
    rows, notes = [], []
    for dataset, by_loss in groups.items():
        if "ce" not in by_loss:
            continue
        metrics = ["heart_overlap"] + (["marker_overlap"] if has_marker.get(dataset) else []) + ["test_accuracy"]
        baseline = kept(by_loss["ce"])
        for loss in (name for name in by_loss if name != "ce"):
            treated = kept(by_loss[loss])
            if smallest_p(len(baseline), len(treated)) > alpha:
                notes.append(f"{dataset} ce vs {loss}: with {len(baseline)} and {len(treated)} kept models the "
                             f"smallest possible Mann-Whitney p is {smallest_p(len(baseline), len(treated)):.3g}; "
                             "read the effect sizes.")
            pairs = [("ce", baseline)] + ([(loss.removesuffix("-norm"), kept(by_loss[loss.removesuffix("-norm")]))]
                                          if loss.endswith("-norm") and loss.removesuffix("-norm") in by_loss else [])
            for name, reference in pairs:
                for metric in metrics:
                    rows.append(comparison_row(dataset, loss, metric, [getattr(m, metric) for m in reference],
                                               [getattr(m, metric) for m in treated], alpha, name))
    return rows, notes


def group_metrics(groups: dict[str, dict[str, list[ModelResult]]]) -> dict[str, float]:
    """Flat keys: ``<dataset>_<heart|sex|acc>_<ce|hm|...>`` (means over kept models), ``n_models_<dataset>_<loss>``
    (kept) and ``n_trained_<dataset>_<loss>``."""
    metrics: dict[str, float] = {}
    for dataset, by_loss in groups.items():
        for loss, models in by_loss.items():
            key = LOSS_KEYS[loss]
            chosen = kept(models)
            for metric, short in METRIC_KEYS.items():
                values = [getattr(m, metric) for m in chosen if np.isfinite(getattr(m, metric))]
                if values:
                    metrics[f"{dataset}_{short}_{key}"] = float(np.mean(values))
            metrics[f"n_models_{dataset}_{key}"] = len(chosen)
            metrics[f"n_trained_{dataset}_{key}"] = len(models)
    return metrics


def primary_p_values(rows: list[dict]) -> dict[str, float]:
    """``exp1_heart_p``, ``exp2_heart_p``, ``exp2_sex_p`` (and the same with d and CL) of ce vs hirescam."""
    out = {}
    for row in rows:
        if row.get("comparison") != "ce vs hirescam" or "p_value" not in row or row["metric"] not in THESIS_CLAIMS:
            continue
        key = f"{row['dataset']}_{METRIC_KEYS[row['metric']]}"
        out[f"{key}_p"] = row["p_value"]
        out[f"{key}_d"] = row["cohens_d"]
        for k in IQR_KS:
            out[f"{key}_d_iqr{k:g}"] = row[f"cohens_d_iqr{k:g}"]
        out[f"{key}_cl"] = row["common_language"]
        out[f"{key}_test"] = row["test"]
    return out


STAT_KEYS = {"p_value": "p", "cohens_d": "d", "cohens_d_iqr1.5": "d_iqr1.5", "cohens_d_iqr5": "d_iqr5",
             "common_language": "cl"}


def thesis_rows(metrics: dict[str, float], rows: list[dict]) -> list[dict]:
    """Table 'ours vs the thesis': each number the thesis gives, beside ours (same convention)."""
    primary = {(r["dataset"], r["metric"]): r for r in rows if r.get("comparison") == "ce vs hirescam"}
    table = []
    for key, values in THESIS.items():
        dataset, short = key.split("_")
        row = primary.get((dataset, "marker_overlap" if short == "sex" else "heart_overlap"), {})
        for stat, thesis in values.items():
            ours = row.get(stat) if stat.startswith("shapiro") else metrics.get(f"{key}_{STAT_KEYS[stat]}")
            table.append({"measure": f"{key} {stat}", "ours": ours, "thesis": thesis})
    return table
