"""Compare two groups of per-case scores (e.g. Dice with and without the heatmap loss).

Procedure (as in the heatmap-loss thesis): Shapiro-Wilk on each group; if both look normal at
``alpha`` a Welch t-test (unequal variances), otherwise a two-sided Mann-Whitney U test. A group
with n < 3 or constant values cannot be tested for normality and counts as non-normal.

Effect sizes, always reported: Cohen's d = (mean_a - mean_b) / s_pooled with
s_pooled = sqrt(((n_a - 1) s_a² + (n_b - 1) s_b²) / (n_a + n_b - 2)), and the common-language effect
size CL = P(X > Y) + ½ P(X = Y) over all (a, b) pairs, which equals U_a / (n_a n_b) where U_a is the
Mann-Whitney U statistic of group a. The sign follows the order: compare_groups(a, b) with a the
baseline gives the thesis's convention (d < 0 and CL near 0 when b is higher).

``iqr_filter(values, k)`` keeps values inside [Q1 - k IQR, Q3 + k IQR] (the thesis removes outliers with
k = 1.5 and k = 5 before Cohen's d); ``filtered_cohens_d(a, b, k)`` is d after filtering each group.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from medinterp_widgets.metrics._arrays import to_numpy

MIN_SHAPIRO_N = 3


@dataclass(frozen=True)
class GroupComparison:
    """Result of ``compare_groups``; ``test`` is "welch_t" or "mann_whitney_u" and ``reason`` says why."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    median_a: float
    median_b: float
    sd_a: float
    sd_b: float
    shapiro_p_a: float  # nan when not testable (n < 3 or constant)
    shapiro_p_b: float
    normal_a: bool
    normal_b: bool
    test: str
    reason: str
    statistic: float
    p_value: float
    significant: bool
    alpha: float
    cohens_d: float
    u_statistic: float
    common_language: float

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict view, e.g. for JSON reports."""
        return asdict(self)


def _clean(values: Any, name: str, nan_policy: str) -> np.ndarray:
    data = to_numpy(values, name).astype(np.float64).ravel()
    finite = np.isfinite(data)
    if not finite.all():
        if nan_policy != "omit":
            raise ValueError(f"{name}: found {int((~finite).sum())} non-finite values; "
                             "expected finite numbers (or pass nan_policy='omit')")
        data = data[finite]
    if data.size == 0:
        raise ValueError(f"{name}: expected at least one value, got none")
    return data


def shapiro_p(values: np.ndarray) -> float:
    """Shapiro-Wilk p-value, or nan when n < 3 or all values are equal (no test possible)."""
    if values.size < MIN_SHAPIRO_N or np.ptp(values) == 0:
        return float("nan")
    return float(stats.shapiro(values).pvalue)


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """(mean_a - mean_b) / pooled SD; nan when n_a + n_b < 3 or the pooled SD is 0."""
    dof = a.size + b.size - 2
    if dof <= 0:
        return float("nan")
    pooled_var = ((a.size - 1) * np.var(a, ddof=1 if a.size > 1 else 0)
                  + (b.size - 1) * np.var(b, ddof=1 if b.size > 1 else 0)) / dof
    if pooled_var <= 0:
        return float("nan")
    return float((a.mean() - b.mean()) / math.sqrt(pooled_var))


def iqr_filter(values: Any, k: float) -> np.ndarray:
    """The finite values inside [Q1 - k IQR, Q3 + k IQR], IQR = Q3 - Q1 (numpy's linear quantiles)."""
    if k < 0:
        raise ValueError(f"iqr_filter k: expected >= 0, got {k}")
    data = to_numpy(values, "values").astype(np.float64).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return data
    q1, q3 = np.quantile(data, [0.25, 0.75])
    spread = k * (q3 - q1)
    return data[(data >= q1 - spread) & (data <= q3 + spread)]


def filtered_cohens_d(a: Any, b: Any, k: float) -> float:
    """Cohen's d of the two groups after ``iqr_filter(group, k)`` of each."""
    return cohens_d(iqr_filter(a, k), iqr_filter(b, k))


def _choose_test(p_a: float, p_b: float, alpha: float) -> tuple[str, str]:
    non_normal = [name for name, p in (("a", p_a), ("b", p_b)) if not p > alpha]
    if not non_normal:
        return "welch_t", f"both groups pass Shapiro-Wilk (p > {alpha})"
    details = ", ".join(f"group {name}: " + ("not testable (n < 3 or constant)" if math.isnan(p)
                                             else f"Shapiro-Wilk p = {p:.3g} <= {alpha}")
                        for name, p in (("a", p_a), ("b", p_b)) if name in non_normal)
    return "mann_whitney_u", f"non-normal: {details}"


def compare_groups(a: Any, b: Any, *, alpha: float = 0.05, nan_policy: str = "raise") -> GroupComparison:
    """Test whether two independent groups differ (module docstring) and report effect sizes.

    ``nan_policy``: "raise" (default) or "omit" non-finite values first.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a value in (0, 1), got {alpha}")
    x, y = _clean(a, "a", nan_policy), _clean(b, "b", nan_policy)
    p_a, p_b = shapiro_p(x), shapiro_p(y)
    test, reason = _choose_test(p_a, p_b, alpha)
    u_result = stats.mannwhitneyu(x, y, alternative="two-sided")
    if test == "welch_t":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # n = 1 groups give nan, not a crash
            result = stats.ttest_ind(x, y, equal_var=False)
    else:
        result = u_result
    p_value = float(result.pvalue)
    return GroupComparison(
        n_a=int(x.size), n_b=int(y.size), mean_a=float(x.mean()), mean_b=float(y.mean()),
        median_a=float(np.median(x)), median_b=float(np.median(y)),
        sd_a=float(x.std(ddof=1)) if x.size > 1 else float("nan"),
        sd_b=float(y.std(ddof=1)) if y.size > 1 else float("nan"),
        shapiro_p_a=p_a, shapiro_p_b=p_b, normal_a=bool(p_a > alpha), normal_b=bool(p_b > alpha),
        test=test, reason=reason, statistic=float(result.statistic), p_value=p_value,
        significant=bool(p_value < alpha), alpha=alpha, cohens_d=cohens_d(x, y),
        u_statistic=float(u_result.statistic),
        common_language=float(u_result.statistic) / (x.size * y.size),
    )
