"""Dry runs of a long preset: the preset's models, image sizes, folds, groups and data, few steps.

``Config.from_preset("full", limit_steps=N)`` (``medinterp reproduce NAME --full --limit-steps N``) keeps
every size of the preset (widths, image sizes, folds, group sizes, search setup, data loading) and
caps only the work: each training run stops after N steps (``TrainConfig.max_steps``; the epoch it
falls in is evaluated and checkpointed as usual), each hyper-parameter search runs at most
``DRY_RUN_TRIALS`` trials, and validation / test sets that are scored many times keep their first
``DRY_RUN_EVAL_ITEMS`` items, so every code path of the full preset runs on a CPU in minutes. The
numbers of such a run mean nothing; the report says it was a dry run.
"""

from __future__ import annotations

DRY_RUN_TRIALS = 2
DRY_RUN_EVAL_ITEMS = 16


def capped_trials(trials: int, limit_steps: int | None) -> int:
    """``trials``, or at most DRY_RUN_TRIALS of them in a dry run (``limit_steps`` set)."""
    return trials if limit_steps is None else min(trials, DRY_RUN_TRIALS)


def capped_items(count: int, limit_steps: int | None) -> int:
    """``count`` evaluation items, or at most DRY_RUN_EVAL_ITEMS of them in a dry run."""
    return count if limit_steps is None else min(count, DRY_RUN_EVAL_ITEMS)


def dry_run_note(limit_steps: int | None) -> list[str]:
    """The report note of a dry run (empty list otherwise)."""
    if limit_steps is None:
        return []
    return [f"DRY RUN: every training run stopped after {limit_steps} optimisation steps and each search after "
            f"at most {DRY_RUN_TRIALS} trials, evaluation sets to {DRY_RUN_EVAL_ITEMS} items (--limit-steps); "
            "models, sizes and data are the preset's, the numbers are not results."]
