"""Run folders on disk, for resuming and for the run browser.

    <run_dir>/config.json     TrainConfig (+ model class/kwargs)
    <run_dir>/metrics.jsonl   one JSON line per kept event (EpochEnd, CheckpointSaved, RunEnded)
    <run_dir>/last.pt         checkpoint after the latest completed epoch
    <run_dir>/best.pt         checkpoint of the best epoch by config.best_metric / best_mode

A run killed at any point resumes cleanly (``RunWriter.prepare_resume``): metrics.jsonl is cut back to
the epochs ``last.pt`` holds (all of them when there is no ``last.pt`` yet), so no epoch is listed
twice or lost, and temp files of interrupted atomic writes are removed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medinterp_widgets.data.errors import DataFormatError
from medinterp_widgets.training.events import CheckpointSaved, EpochEnd, RunEnded, to_record

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
KEPT_EVENTS = (EpochEnd, CheckpointSaved, RunEnded)  # EpochEnd already holds every split


@dataclass
class RunInfo:
    """What the run browser shows for one run folder."""

    path: Path
    config: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epochs_completed(self) -> int:
        return sum(1 for record in self.records if record.get("event") == "EpochEnd")

    @property
    def status(self) -> str:
        ended = [r for r in self.records if r.get("event") == "RunEnded"]
        return ended[-1]["reason"] if ended else "running-or-killed"

    @property
    def last_checkpoint(self) -> Path | None:
        path = self.path / LAST_CHECKPOINT
        return path if path.is_file() else None

    @property
    def best_checkpoint(self) -> Path | None:
        path = self.path / BEST_CHECKPOINT
        return path if path.is_file() else None

    def epoch_metrics(self) -> list[dict[str, dict[str, float]]]:
        """Per-epoch ``{split: {metric: value}}``, in epoch order."""
        return [r["metrics"] for r in self.records if r.get("event") == "EpochEnd"]


class RunWriter:
    """Writes config.json and appends kept events to metrics.jsonl (flushed and fsynced per line)."""

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir)
        self.path.mkdir(parents=True, exist_ok=True)

    def write_config(self, config: dict[str, Any]) -> None:
        tmp = self.path / f".{CONFIG_FILE}.tmp"
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
        os.replace(tmp, self.path / CONFIG_FILE)

    def __call__(self, event: Any) -> None:
        if isinstance(event, KEPT_EVENTS):
            self.append(to_record(event))

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=_json_default) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def prepare_resume(self, epochs_completed: int) -> list[Path]:
        """Before a resumed run: remove temp files of writes a kill interrupted, then keep only the records
        of the epochs the checkpoint holds (0 when there is none). Returns the removed temp files."""
        stale = remove_stale_temps(self.path)
        self.truncate_after_epoch(epochs_completed)
        return stale

    def truncate_after_epoch(self, epochs_completed: int) -> None:
        """Drop records of epochs a resumed run will redo (``epoch >= epochs_completed``) and old RunEnded lines."""
        path = self.path / METRICS_FILE
        if not path.is_file():
            return
        kept = [r for r in read_records(path) if _belongs_before(r, epochs_completed)]
        tmp = path.with_name(f".{METRICS_FILE}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, path)


def remove_stale_temps(run_dir: str | os.PathLike) -> list[Path]:
    """Delete ``.<file>.*.tmp`` / ``.<file>.tmp`` left in ``run_dir`` by a write killed before its rename."""
    names = (LAST_CHECKPOINT, BEST_CHECKPOINT, CONFIG_FILE, METRICS_FILE)
    stale = [p for name in names for p in Path(run_dir).glob(f".{name}*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Parse metrics.jsonl; a torn last line (killed mid-write) is ignored."""
    records = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise DataFormatError(path, f"line {number}: not JSON ({error.msg})") from error
    return records


def load_run(run_dir: str | os.PathLike) -> RunInfo:
    """Read one run folder (config.json required, metrics.jsonl optional)."""
    path = Path(run_dir)
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"not a run folder (no {CONFIG_FILE}): {path}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataFormatError(config_path, f"not JSON ({error.msg})") from error
    metrics_path = path / METRICS_FILE
    records = read_records(metrics_path) if metrics_path.is_file() else []
    return RunInfo(path=path, config=config, records=records)


def list_runs(root: str | os.PathLike) -> list[RunInfo]:
    """Every run folder directly or deeper under ``root``, newest config first."""
    root = Path(root)
    if not root.is_dir():
        return []
    configs = sorted(root.rglob(CONFIG_FILE), key=lambda p: p.stat().st_mtime, reverse=True)
    return [load_run(config.parent) for config in configs]


def _belongs_before(record: dict[str, Any], epochs_completed: int) -> bool:
    if record.get("event") == "RunEnded":
        return False
    epoch = record.get("epoch")
    return epoch is None or epoch < epochs_completed


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
