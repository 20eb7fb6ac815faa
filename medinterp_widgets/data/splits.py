"""Deterministic patient-level (group-level) splits: one place for every data set.

Every item of a data set carries a group key (ACDC patient, mouse, COVID-CT source paper). Splits are
drawn over the *unique* keys, so all items of one patient land on the same side. ``strata`` (one
value per id, e.g. the class label) keeps each stratum's share similar on both sides. K-fold
splits use scikit-learn's ``StratifiedGroupKFold``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold


def _unique_groups(ids: Sequence[Hashable], strata: Sequence[Hashable] | None) -> dict[Hashable, list]:
    """Map stratum -> sorted unique ids of that stratum (a single stratum None without ``strata``)."""
    if strata is not None and len(strata) != len(ids):
        raise ValueError(f"strata has {len(strata)} values but ids has {len(ids)}")
    by_stratum: dict[Hashable, set] = {}
    owner: dict[Hashable, Hashable] = {}
    for index, group in enumerate(ids):
        stratum = None if strata is None else strata[index]
        if owner.setdefault(group, stratum) != stratum:
            raise ValueError(f"group {group!r} has items in two strata ({owner[group]!r}, {stratum!r})")
        by_stratum.setdefault(stratum, set()).add(group)
    ordered = sorted(by_stratum.items(), key=lambda pair: str(pair[0]))
    return {stratum: sorted(groups, key=str) for stratum, groups in ordered}


def patient_split(
    ids: Sequence[Hashable], val_fraction: float = 0.2, seed: int = 0, strata: Sequence[Hashable] | None = None
) -> tuple[list, list]:
    """Split the unique ``ids`` into (train_ids, val_ids); ``round(n * val_fraction)`` per stratum go to val.

    Deterministic for a given seed and set of ids (the order of ``ids`` does not matter). Each stratum
    with at least two groups keeps at least one on each side.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for groups in _unique_groups(ids, strata).values():
        order = [groups[i] for i in rng.permutation(len(groups))]
        n_val = int(round(len(groups) * val_fraction))
        if len(groups) >= 2:
            n_val = min(max(n_val, 1), len(groups) - 1)
        val += order[:n_val]
        train += order[n_val:]
    return sorted(train, key=str), sorted(val, key=str)


def patient_folds(
    ids: Sequence[Hashable], k: int = 5, seed: int = 0, strata: Sequence[Hashable] | None = None
) -> list[tuple[list, list]]:
    """K-fold cross-validation over groups: a list of k (train_ids, val_ids) pairs.

    ``ids`` has one entry per item, so folds are balanced by item count (and by stratum share when
    ``strata`` is given): scikit-learn's ``StratifiedGroupKFold`` with shuffled groups. Each id is in
    exactly one val fold.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    _unique_groups(ids, strata)  # checks lengths and that no group spans two strata
    keys = np.array([str(i) for i in ids])
    labels = np.zeros(len(keys), dtype=int)
    if strata is not None:
        labels = np.unique(np.array([str(s) for s in strata]), return_inverse=True)[1]
    if len(set(keys)) < k:
        raise ValueError(f"{len(set(keys))} groups cannot fill {k} folds")
    by_key = {str(i): i for i in ids}
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for train_index, val_index in splitter.split(np.zeros(len(keys)), labels, groups=keys):
        train = sorted({by_key[key] for key in keys[train_index]}, key=str)
        val = sorted({by_key[key] for key in keys[val_index]}, key=str)
        folds.append((train, val))
    return folds


def select_indices(item_ids: Sequence[Hashable], chosen: Sequence[Hashable]) -> list[int]:
    """Indices of the items whose id is in ``chosen`` (to build a train/val subset of a data set)."""
    wanted = set(chosen)
    return [index for index, group in enumerate(item_ids) if group in wanted]
