"""compare_groups against scipy directly, effect sizes by hand, small-n and bad-input rules."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from medinterp_widgets.metrics.statistics import GroupComparison, cohens_d, compare_groups


def test_normal_groups_use_welch_t_like_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.05, 40), rng.normal(0.75, 0.1, 30)
    result = compare_groups(a, b)
    assert isinstance(result, GroupComparison)
    assert result.normal_a and result.normal_b and result.test == "welch_t"
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert result.statistic == pytest.approx(welch.statistic) and result.p_value == pytest.approx(welch.pvalue)
    assert result.shapiro_p_a == pytest.approx(stats.shapiro(a).pvalue)
    assert result.significant == (welch.pvalue < 0.05)


def test_skewed_group_switches_to_mann_whitney():
    rng = np.random.default_rng(1)
    a, b = rng.exponential(1.0, 50), rng.normal(1.0, 0.2, 50)
    result = compare_groups(a, b)
    assert result.test == "mann_whitney_u" and "group a" in result.reason
    mwu = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert result.p_value == pytest.approx(mwu.pvalue) and result.u_statistic == mwu.statistic


def test_effect_sizes_by_hand():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    # pooled variance = (2*1 + 2*4) / 4 = 2.5; d = (2 - 4) / sqrt(2.5)
    assert cohens_d(a, b) == pytest.approx(-2 / math.sqrt(2.5))
    result = compare_groups(a, b)
    # pairs a > b: (3 > 2); ties: (2 = 2) -> (1 + 0.5) / 9
    assert result.common_language == pytest.approx(1.5 / 9)
    assert result.common_language == pytest.approx(result.u_statistic / 9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=8), st.lists(st.integers(0, 5), min_size=1, max_size=8))
def test_common_language_is_pairwise_probability(a, b):
    x, y = np.array(a, float), np.array(b, float)
    pairs = np.subtract.outer(x, y)
    expected = ((pairs > 0).sum() + 0.5 * (pairs == 0).sum()) / pairs.size
    assert compare_groups(x, y).common_language == pytest.approx(expected)


def test_small_and_constant_groups():
    result = compare_groups([0.9, 0.8], [0.5, 0.6, 0.7, 0.65])
    assert math.isnan(result.shapiro_p_a) and not result.normal_a
    assert result.test == "mann_whitney_u" and "not testable" in result.reason
    constant = compare_groups([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert constant.test == "mann_whitney_u" and math.isnan(constant.cohens_d)
    single = compare_groups([1.0], [2.0])
    assert math.isnan(single.cohens_d) and math.isnan(single.sd_a) and single.common_language == 0.0


def test_nan_policy_and_bad_input():
    with pytest.raises(ValueError, match="a: found 1 non-finite"):
        compare_groups([1.0, np.nan, 2.0], [1.0, 2.0])
    omitted = compare_groups([1.0, np.nan, 2.0, 3.0], [1.0, 2.0, 5.0], nan_policy="omit")
    assert omitted.n_a == 3
    with pytest.raises(ValueError, match="b: expected at least one value"):
        compare_groups([1.0], [])
    assert set(compare_groups([1, 2, 3], [2, 3, 4]).as_dict()) >= {"test", "reason", "cohens_d", "p_value"}


def test_iqr_filter_hand_values_and_filtered_d():
    from medinterp_widgets.metrics import filtered_cohens_d, iqr_filter

    values = [1.0, 2.0, 3.0, 4.0, 100.0]  # Q1 = 2, Q3 = 4, IQR = 2
    np.testing.assert_array_equal(iqr_filter(values, 1.5), [1.0, 2.0, 3.0, 4.0])  # fences -1 .. 7
    np.testing.assert_array_equal(iqr_filter(values + [float("nan")], 50.0), values)  # fences -98 .. 104
    a, b = [0.0, 1.0, 2.0, 50.0], [4.0, 5.0, 6.0]
    # a without 50 (Q1 0.75, Q3 14, fences -19.1 .. 33.9): mean 1, var 1; b: mean 5, var 1 -> d = -4
    assert filtered_cohens_d(a, b, 1.5) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="k"):
        iqr_filter(values, -1)
