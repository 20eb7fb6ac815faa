"""kill -9 in every window of a run, then resume: no epoch listed twice or lost, the same numbers as an
uninterrupted run, no temp files left. Each kill is a real SIGKILL of a child process, sent from a hook
placed exactly in the window (after a metrics line, inside an atomic save, between best.pt and last.pt...)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from medinterp_widgets.training import runs

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 3
RUN = textwrap.dedent('''
    """A tiny segmentation run; ``python run.py RUN_DIR WINDOW`` SIGKILLs itself in WINDOW."""
    import os, signal, sys
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset
    from medinterp_widgets.training import checkpoints, runs
    from medinterp_widgets.training.config import TrainConfig
    from medinterp_widgets.training.events import EpochEnd, StepEnd
    from medinterp_widgets.training.trainer import Trainer

    def data(seed):
        g = torch.Generator().manual_seed(seed)
        x = 0.1 * torch.randn(12, 1, 8, 8, generator=g)
        y = (x[:, 0] > 0.05).long()
        return TensorDataset(x + y[:, None], y)

    def trainer(run_dir, resume=False):
        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.2), nn.Conv2d(3, 2, 1))
        config = TrainConfig(epochs=%d, batch_size=4, lr=0.05, seed=3, progress=False, run_dir=run_dir,
                             optimizer="sgd", best_metric="train/loss", best_mode="min")
        return Trainer(model, data(1), data(2), config, resume=resume)

    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)

    def install(window, trainer):
        epoch = {"now": -1}
        trainer.callbacks.insert(0, lambda e: epoch.update(now=e.epoch) if isinstance(e, EpochEnd) else None)
        real_replace, real_append = os.replace, runs.RunWriter.append

        def replace(src, dst):  # inside atomic_save: the temp file is written and fsynced
            name = os.path.basename(str(dst))
            if epoch["now"] == 1 and (window, name) in {("mid-save-best", "best.pt"), ("mid-save-last", "last.pt"),
                                                        ("after-best-before-last", "last.pt")}:
                if window == "after-best-before-last":
                    os.remove(src)  # as if killed before the last.pt write began
                die()
            return real_replace(src, dst)

        def append(self, record):
            last_saved = record.get("event") == "CheckpointSaved" and not record.get("is_best")
            if window == "after-last-before-record" and last_saved and record.get("epoch") == 1:
                die()
            if window == "torn-line" and record.get("event") == "EpochEnd" and record.get("epoch") == 1:
                with open(self.path / runs.METRICS_FILE, "a") as handle:
                    handle.write('{"event": "EpochEnd", "epo')
                    handle.flush()
                die()
            return real_append(self, record)

        os.replace, runs.RunWriter.append = replace, append
        if window == "after-first-epoch-line":  # EpochEnd(0) written, no last.pt yet
            trainer.callbacks.append(lambda e: die() if isinstance(e, EpochEnd) and e.epoch == 0 else None)
        if window == "mid-epoch":
            trainer.callbacks.append(lambda e: die() if isinstance(e, StepEnd) and e.epoch == 2 else None)

    if __name__ == "__main__":
        run = trainer(sys.argv[1])
        install(sys.argv[2], run)
        run.fit()
''' % EPOCHS)
WINDOWS = ["after-first-epoch-line", "mid-save-best", "after-best-before-last", "mid-save-last",
           "after-last-before-record", "torn-line", "mid-epoch"]


@pytest.fixture(scope="module")
def run_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("script") / "run.py"
    path.write_text(RUN)
    spec = importlib.util.spec_from_file_location("kill_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


@pytest.fixture(scope="module")
def reference(run_module, tmp_path_factory):
    """The uninterrupted run's per-epoch metrics and final weights."""
    folder = tmp_path_factory.mktemp("reference")
    trainer = run_module[1].trainer(str(folder))
    trainer.fit()
    return runs.load_run(folder).epoch_metrics(), trainer.base_model.state_dict()


@pytest.mark.slow
@pytest.mark.parametrize("window", WINDOWS)
def test_kill_then_resume(run_module, reference, tmp_path, window):
    script, module = run_module
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.run([sys.executable, str(script), str(run_dir), window], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, f"not killed in window {window}: {child.stderr[-2000:]}"

    resumed = module.trainer(str(run_dir), resume=True)
    resumed.fit()
    info = runs.load_run(run_dir)
    epochs = [r["epoch"] for r in info.records if r.get("event") == "EpochEnd"]
    assert epochs == list(range(EPOCHS)), f"{window}: epochs recorded {epochs}"
    metrics, weights = reference
    assert info.epoch_metrics() == metrics  # same numbers as the uninterrupted run (CPU, one thread)
    for name, value in resumed.base_model.state_dict().items():
        assert torch.equal(value, weights[name]), name
    assert not list(run_dir.glob(".*.tmp")), f"{window}: temp files left {list(run_dir.glob('.*'))}"
    assert info.status == "completed" and [r["reason"] for r in info.records if r["event"] == "RunEnded"] == [
        "completed"]
    assert torch.load(run_dir / runs.LAST_CHECKPOINT, weights_only=True)["epoch"] == EPOCHS
