"""Patient-level splits: deterministic, disjoint, complete; no group on both sides."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinterp_widgets.data import patient_folds, patient_split, select_indices

ids_strategy = st.lists(st.integers(0, 30).map(lambda n: f"patient{n:03d}"), min_size=2, max_size=80)


@settings(max_examples=40, deadline=None)
@given(ids=ids_strategy, fraction=st.floats(0.1, 0.9), seed=st.integers(0, 5))
def test_split_never_leaks_a_patient(ids, fraction, seed):
    train, val = patient_split(ids, fraction, seed)
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(ids)
    if len(set(ids)) >= 2:
        assert train and val
    train_items = select_indices(ids, train)
    val_items = select_indices(ids, val)
    assert sorted(train_items + val_items) == list(range(len(ids)))
    assert not {ids[i] for i in train_items} & {ids[i] for i in val_items}


@settings(max_examples=30, deadline=None)
@given(ids=st.lists(st.integers(0, 40), min_size=5, max_size=80).filter(lambda x: len(set(x)) >= 5),
       k=st.integers(2, 5), seed=st.integers(0, 3))
def test_folds_partition_the_groups(ids, k, seed):
    folds = patient_folds(ids, k, seed)
    assert len(folds) == k
    vals = [set(val) for _, val in folds]
    assert set().union(*vals) == set(ids) and sum(len(v) for v in vals) == len(set(ids))
    for train, val in folds:
        assert not set(train) & set(val) and set(train) | set(val) == set(ids)


def test_split_is_deterministic_and_order_free():
    ids = [f"p{i}" for i in range(20)] * 3
    assert patient_split(ids, 0.25, seed=7) == patient_split(list(reversed(ids)), 0.25, seed=7)
    assert patient_split(ids, 0.25, seed=7) != patient_split(ids, 0.25, seed=8)
    assert len(patient_split(ids, 0.25, seed=7)[1]) == 5


def test_strata_keep_each_class_on_both_sides():
    ids = [f"c{i}" for i in range(10)] + [f"n{i}" for i in range(10)]
    labels = [1] * 10 + [0] * 10
    train, val = patient_split(ids, 0.2, 0, strata=labels)
    assert sum(v.startswith("c") for v in val) == 2 and sum(v.startswith("n") for v in val) == 2
    for _, fold in patient_folds(ids, 5, 0, strata=labels):
        assert sum(v.startswith("c") for v in fold) == 2


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        patient_split(["a", "b"], 1.5)
    with pytest.raises(ValueError):
        patient_folds(["a", "b"], 5)
    with pytest.raises(ValueError, match="two strata"):
        patient_split(["a", "a", "b"], 0.5, strata=[0, 1, 1])
