"""The Trainer: a plain torch loop that emits typed events (see events.py) to callbacks.

    trainer = Trainer(model, train_set, val_set, TrainConfig(epochs=5, run_dir="runs/lv"))
    trainer.fit()                                  # or: for event in trainer.events(): ...

Per step: forward (under float16 autocast on CUDA when ``amp`` and the loss allows it, see
``amp_enabled``; bfloat16 on a bf16-capable CPU with ``cpu_bf16``), loss, backward through a GradScaler,
optimizer step, per-step LR schedule. Per epoch: train/val metrics, ``last.pt`` (+ ``best.pt``),
metrics.jsonl. ``config.max_steps`` ends the run after that step's epoch. ``stop()`` (thread-safe)
ends the run after the current step. ``resume=True`` continues from ``run_dir/last.pt`` with model,
optimizer, scheduler, scaler, RNG and epoch counter, so the finished run matches an uninterrupted one
with the same seed.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.training import checkpoints, runs
from medinterp_widgets.training import events as ev
from medinterp_widgets.training.batches import make_loader, model_output_logits, split_batch, to_device
from medinterp_widgets.training.config import TrainConfig
from medinterp_widgets.training.distributed import DistributedContext
from medinterp_widgets.training.epoch_metrics import EpochMetrics
from medinterp_widgets.training.loss_protocol import (
    Batch,
    CrossEntropy,
    Loss,
    as_loss,
    evaluation_loss,
    forward_with_loss,
)
from medinterp_widgets.training.monitor import LayerMonitor
from medinterp_widgets.training.optim import make_optimizer, make_scheduler
from medinterp_widgets.training.seeding import capture_rng_state, restore_rng_state, seed_everything


class StopTraining(Exception):
    """Raised inside the loop when ``stop()`` was requested."""


class Trainer:
    """Train ``model`` on ``train_data`` (a Dataset of ``(x, y, ...)`` or ``{"image", "label", ...}`` items,
    or a ready DataLoader), evaluating on ``val_data`` each epoch.

    loss: a `Loss` (``loss_protocol.py``: declared inputs "logits" or "model", a `LossResult` with the
    total and its named parts, one forward a step; validation uses ``loss.evaluation_form()`` when the
    loss declares one, else the loss itself), or a plain ``loss(logits, target) -> Tensor``; default
    cross-entropy.
    callbacks: each ``callable(event)`` gets every event (main process only). model_kwargs: constructor
    kwargs saved in checkpoints (default: the model's ``init_kwargs``).
    """

    def __init__(self, model: nn.Module, train_data: Any, val_data: Any = None, config: TrainConfig | None = None,
                 *, loss: Loss | Callable | None = None, callbacks: Iterable[Callable] = (), resume: bool = False,
                 model_kwargs: dict[str, Any] | None = None):
        self.config = config or TrainConfig()
        if resume and not self.config.run_dir:
            raise ValueError("Trainer(resume=True): config.run_dir must name the run folder to resume")
        self.context = DistributedContext.from_env()
        self.device = self.context.device(resolve_device(self.config.device))
        self.on_cuda = self.device.type == "cuda"
        self.loss_fn = as_loss(loss if loss is not None else CrossEntropy())
        self.eval_loss = evaluation_loss(self.loss_fn)
        self.amp = amp_enabled(self.device, self.config, self.loss_fn)
        self.cpu_bf16 = cpu_bf16_enabled(self.device, self.config)
        self.model_kwargs = model_kwargs
        self.base_model = model.to(self.device)
        if self.on_cuda and self.config.channels_last:
            self.base_model = self.base_model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model = self.base_model  # DistributedDataParallel-wrapped by fit() under torchrun
        self.train_data, self.val_data = train_data, val_data
        self.callbacks = list(callbacks)
        self.resume = resume
        self.run_dir = Path(self.config.run_dir) if self.config.run_dir else None
        self.writer = runs.RunWriter(self.run_dir) if self.run_dir and self.context.is_main else None
        self._stop = threading.Event()
        self.step = 0
        self.start_epoch = 0
        self.epochs_completed = 0
        self.best_value: float | None = None
        self.history: list[dict[str, dict[str, float]]] = []

    # ----------------------------------------------------------------- public API
    def stop(self) -> None:
        """Ask the run to end after the current step (safe to call from another thread)."""
        self._stop.set()

    def fit(self) -> list[dict[str, dict[str, float]]]:
        """Run the remaining epochs; returns per-epoch ``{split: metrics}`` of this call."""
        self._stop.clear()
        self.context.setup(self.device)
        self.model = self.context.wrap(self.base_model, self.device)
        self.optimizer = make_optimizer(self.base_model.parameters(), self.config)
        self.scheduler = make_scheduler(self.optimizer, self.config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self._restore_or_seed()
        self._emit(ev.RunStarted(run_dir=str(self.run_dir) if self.run_dir else None, config=self.config.to_dict(),
                                 start_epoch=self.start_epoch, total_epochs=self.config.epochs,
                                 steps_per_epoch=_safe_len(self.train_data, self.config.batch_size, self.context)))
        reason: Literal["completed", "stopped", "error"] = "completed"
        error: str | None = None
        try:
            for epoch in range(self.start_epoch, self.config.epochs):
                self._run_epoch(epoch)
                if self._step_budget_spent():
                    break
        except StopTraining:
            reason = "stopped"
        except BaseException as exc:
            reason, error = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._emit(ev.RunEnded(reason=reason, epochs_completed=self.epochs_completed, steps=self.step,
                                   best_value=self.best_value, error=error))
        return self.history

    def events(self) -> Iterator[Any]:
        """Run ``fit()`` in a background thread and yield its events as they happen."""
        inbox: queue.Queue = queue.Queue()
        done = object()
        self.callbacks.append(inbox.put)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.fit()
            except BaseException as exc:  # surfaced in the consumer's thread below
                failure.append(exc)
            finally:
                inbox.put(done)

        thread = threading.Thread(target=work, name="medinterp-trainer", daemon=True)
        thread.start()
        try:
            while (event := inbox.get()) is not done:
                yield event
        finally:
            self.stop()
            thread.join()
            self.callbacks.remove(inbox.put)
        if failure:
            raise failure[0]

    def evaluate(self, data: Any) -> dict[str, float]:
        """Loss (the evaluation form of the loss, see ``loss_protocol``) and task metrics of the current
        model on ``data`` (no gradients)."""
        loader = make_loader(data, batch_size=self.config.batch_size, shuffle=False, seed=self.config.seed,
                             epoch=0, num_workers=self.config.num_workers, context=self.context)
        meter: EpochMetrics | None = None
        self.model.eval()
        with torch.no_grad():
            for batch in loader:
                prepared = self._prepare(batch)
                with self._autocast():
                    logits, result = forward_with_loss(self.eval_loss, self.model, prepared, model_output_logits)
                meter = meter or EpochMetrics(self.config.task, self._num_classes(logits))
                meter.update(logits.float(), prepared.y, float(result.total))
        if meter is None:
            return {}
        meter.sync(self.context)
        return meter.compute()

    # ----------------------------------------------------------------- the loop
    def _run_epoch(self, epoch: int) -> None:
        started = time.perf_counter()
        train_metrics = self._train_epoch(epoch)
        results = {"train": train_metrics}
        if self.val_data is not None:
            results["val"] = self.evaluate(self.val_data)
        for split, metrics in results.items():
            self._emit(ev.Evaluation(epoch=epoch, split=split, metrics=metrics))
        self.epochs_completed = epoch + 1
        self.history.append(results)
        self._emit(ev.EpochEnd(epoch=epoch, metrics=results, seconds=time.perf_counter() - started))
        self._save_epoch_checkpoints(epoch, results)

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        loader = make_loader(self.train_data, batch_size=self.config.batch_size, shuffle=True, seed=self.config.seed,
                             epoch=epoch, num_workers=self.config.num_workers, context=self.context,
                             pin_memory=self.on_cuda, drop_last=self.config.drop_last)
        monitor = LayerMonitor(self.base_model) if self.config.monitor_every else None
        meter: EpochMetrics | None = None
        self.model.train()
        show = self.config.progress and self.context.is_main
        for batch in tqdm(loader, desc=f"epoch {epoch + 1}/{self.config.epochs}", disable=not show, leave=False):
            prepared = self._prepare(batch)
            self.step += 1
            sample = monitor is not None and self.step % self.config.monitor_every == 0
            lr = self._current_lr()  # the rate this step uses (the scheduler steps after it)
            logits, loss, terms = self._optimise(prepared, monitor if sample else None)
            meter = meter or EpochMetrics(self.config.task, self._num_classes(logits))
            batch_metrics = {**meter.update(logits.float(), prepared.y, float(loss)), **terms}
            self._emit(ev.StepEnd(step=self.step, epoch=epoch, loss=float(loss), lr=lr,
                                  metrics=batch_metrics))
            if sample and monitor is not None:
                self._emit(ev.LayerStats(step=self.step, epoch=epoch, layers=monitor.summarise()))
            if self._stop.is_set():
                raise StopTraining
            if self._step_budget_spent():
                break
        if meter is None:
            raise ValueError("train_data: produced no batches")
        meter.sync(self.context)
        return meter.compute()

    def _optimise(self, batch: Batch, monitor: LayerMonitor | None
                  ) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """One step: one forward (``forward_with_loss``), backward, optimizer and scheduler step."""
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            with monitor.capture() if monitor else nullcontext():
                logits, result = forward_with_loss(self.loss_fn, self.model, batch, model_output_logits)
        loss = result.total
        terms = {name: float(value) for name, value in result.parts.items()}
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {float(loss)} at step {self.step}")
        self.scaler.scale(loss).backward()
        if self.config.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.base_model.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return logits.detach(), loss.detach(), terms

    # ----------------------------------------------------------------- helpers
    def _prepare(self, batch: Any) -> Batch:
        x, y, extras = split_batch(batch)
        channels_last = self.on_cuda and self.config.channels_last
        return Batch(to_device(x, self.device, channels_last), to_device(y, self.device),
                     to_device(extras, self.device))

    def _autocast(self):
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        if self.cpu_bf16:
            return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        return nullcontext()

    def _step_budget_spent(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _num_classes(self, logits: torch.Tensor) -> int:
        return self.config.num_classes or int(logits.shape[1])

    def _current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _emit(self, event: Any) -> None:
        if not self.context.is_main:
            return
        if self.writer is not None:
            self.writer(event)
        for callback in list(self.callbacks):
            callback(event)

    # ----------------------------------------------------------------- checkpoints
    def _restore_or_seed(self) -> None:
        last = self.run_dir / runs.LAST_CHECKPOINT if self.run_dir else None
        if self.resume and last is not None and last.is_file():
            self._load_state(checkpoints.load_checkpoint(last, map_location="cpu"))  # RNG states must stay on CPU
        else:
            seed_everything(self.config.seed)
        if self.resume and self.writer is not None:  # also without last.pt: killed before the first one
            self.writer.prepare_resume(self.start_epoch)
        if self.writer is not None:
            description = checkpoints.describe_model(self.base_model, self.model_kwargs)
            self.writer.write_config({**self.config.to_dict(), **description})

    def _load_state(self, payload: dict[str, Any]) -> None:
        self.base_model.load_state_dict(payload["model_state"])
        self.optimizer.load_state_dict(payload["optimizer_state"])
        self.scheduler.load_state_dict(payload["scheduler_state"])
        self.scaler.load_state_dict(payload["scaler_state"])
        restore_rng_state(payload["rng"])
        self.start_epoch = self.epochs_completed = int(payload["epoch"])
        self.step = int(payload["step"])
        self.best_value = payload.get("best_value")

    def _save_epoch_checkpoints(self, epoch: int, results: dict[str, dict[str, float]]) -> None:
        is_best = self._update_best(results)
        if not (self.run_dir and self.config.save_checkpoints and self.context.is_main):
            return
        payload = checkpoints.checkpoint_payload(
            self.base_model, model_kwargs=self.model_kwargs, optimizer_state=self.optimizer.state_dict(),
            scheduler_state=self.scheduler.state_dict(), scaler_state=self.scaler.state_dict(),
            rng=capture_rng_state(), epoch=epoch + 1, step=self.step, best_value=self.best_value,
            config=checkpoints.plain_data(self.config.to_dict()), metrics=checkpoints.plain_data(results))
        if is_best:
            path = checkpoints.atomic_save(payload, self.run_dir / runs.BEST_CHECKPOINT)
            self._emit(ev.CheckpointSaved(epoch=epoch, path=str(path), is_best=True))
        path = checkpoints.atomic_save(payload, self.run_dir / runs.LAST_CHECKPOINT)
        self._emit(ev.CheckpointSaved(epoch=epoch, path=str(path), is_best=False))

    def _update_best(self, results: dict[str, dict[str, float]]) -> bool:
        split = self.config.best_split if self.config.best_split in results else "train"
        value = results[split].get(self.config.best_name)
        if value is None or math.isnan(value):
            return False
        better = (self.best_value is None or (value < self.best_value if self.config.best_mode == "min"
                                              else value > self.best_value))
        if better:
            self.best_value = float(value)
        return better


def amp_enabled(device: torch.device, config: TrainConfig, loss_fn: Any) -> bool:
    """Float16 autocast + GradScaler: on CUDA, when ``config.amp``, unless the loss says ``amp_safe = False``.

    HeatmapLoss sets it: its inner ``autograd.grad(create_graph=True)`` would run in float16 without the
    GradScaler's scale (dY/dA can underflow), so heatmap-loss runs train in float32 (TF32 on Ampere+).
    """
    return device.type == "cuda" and bool(config.amp) and bool(getattr(loss_fn, "amp_safe", True))


def cpu_bf16_enabled(device: torch.device, config: TrainConfig) -> bool:
    """bfloat16 autocast on the CPU: when ``config.cpu_bf16`` and the CPU has AVX512-BF16 (else it would be slow)."""
    return device.type == "cpu" and bool(config.cpu_bf16) and bool(torch.cpu._is_avx512_bf16_supported())


def _safe_len(data: Any, batch_size: int, context: DistributedContext) -> int:
    try:
        length = len(data)
    except TypeError:
        return 0
    if hasattr(data, "batch_size") or not hasattr(data, "__getitem__"):
        return length
    return math.ceil(length / (batch_size * context.world_size))
