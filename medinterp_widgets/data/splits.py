"""Deterministic patient-level (group-level) splits: one place for every data set.

Every item of a data set carries a group key (ACDC patient, mouse, COVID-CT source paper). Splits are
drawn over the *unique* keys, so all items of one patient land on the same side. ``strata`` (one
value per id, e.g. the class label) keeps each stratum's share similar on both sides.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


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
    return {stratum: sorted(groups, key=str) for stratum, groups in sorted(by_stratum.items(), key=lambda kv: str(kv[0]))}


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
    """K-fold cross-validation over unique ids: a list of k (train_ids, val_ids) pairs.

    Each id is in exactly one val fold; within each stratum the shuffled ids are dealt round-robin,
    so fold sizes differ by at most one group per stratum.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    rng = np.random.default_rng(seed)
    folds: list[list] = [[] for _ in range(k)]
    offset = 0
    for groups in _unique_groups(ids, strata).values():
        if len(groups) < k and strata is None:
            raise ValueError(f"{len(groups)} groups cannot fill {k} folds")
        for position, index in enumerate(rng.permutation(len(groups))):
            folds[(offset + position) % k].append(groups[index])
        offset += len(groups)
    every = [g for fold in folds for g in fold]
    return [(sorted(set(every) - set(fold), key=str), sorted(fold, key=str)) for fold in folds]


def select_indices(item_ids: Sequence[Hashable], chosen: Sequence[Hashable]) -> list[int]:
    """Indices of the items whose id is in ``chosen`` (to build a train/val subset of a data set)."""
    wanted = set(chosen)
    return [index for index, group in enumerate(item_ids) if group in wanted]
