"""``run(config) -> Report``: train the U-Net, place brain masks by guided backprop, measure, draw."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from medinterp_widgets.devices import resolve_device
from medinterp_widgets.pipelines.dry_run import dry_run_note
from medinterp_widgets.pipelines.report import Report

from . import figures
from .checkpoint import as_stored, gbp_extras
from .config import Config
from .data import Animal, load_animals, phantom_animals, split_animals, training_slices
from .experiments import noise_experiment, translation_experiment
from .faithfulness import add_faithfulness
from .steps import AnimalAnalysis, analyse_animal, references
from .summary import add_notes, add_results, add_tissue_tables, baseline_rows
from .training import store_gbp_extras, train_unet


def load_data(config: Config) -> tuple[list[Animal], str]:
    """(animals, source): the real mouse brains under ``data_root/mouse_brain``, else synthetic phantoms."""
    folder = Path(config.data_root) / "mouse_brain" if config.data_root else None
    if folder is not None and folder.is_dir():
        animals = load_animals(folder, config.tissue, config.slice_size, config.seed, config.input_scale)
        return animals, f"mouse_brain ({config.tissue})"
    return phantom_animals(config.phantom_animals, config.phantom_shape, config.seed), "synthetic_brain phantoms"


def split(config: Config, animals: list[Animal], source: str) -> tuple[list[Animal], list[Animal]]:
    """(training animals, test animals): ``config.test_animals`` for real data, the last phantom otherwise."""
    numbers = config.test_animals if source.startswith("mouse_brain") else (len(animals),)
    return split_animals(animals, numbers)


@dataclass(frozen=True)
class Outcome:
    """A run's report plus the arrays behind it (test animals and their analyses) for interactive views."""

    report: Report
    test: list[Animal]
    analyses: list[AnimalAnalysis]


def run(config: Config, *, callbacks=()) -> Report:
    """Train, analyse, measure and draw; returns the Report (write it with ``report.write(out)``)."""
    return execute(config, callbacks=callbacks).report


def execute(config: Config, *, callbacks=()) -> Outcome:
    """``run`` that also returns the test animals and their GBP analyses."""
    started, cpu = time.perf_counter(), time.process_time()
    device = resolve_device(config.device)
    animals, source = load_data(config)
    train_animals, test_animals = split(config, animals, source)
    train, val = training_slices(train_animals, config.min_brain_fraction, config.val_fraction, config.seed,
                                 config.slice_step, config.input_channels)
    report = Report(name="rodent-gbp", title="Rodent brain U-Net + guided backprop (Matos et al.)",
                    config={**config.to_dict(), "device": str(device)})
    report.metrics.update({"train_animals": [a.subject_id for a in train_animals],
                           "test_animals": [a.subject_id for a in test_animals],
                           "train_slices": len(train[0]), "val_slices": len(val[0]), "data": source})
    with tempfile.TemporaryDirectory(prefix="rodent-gbp-") as scratch:
        run_dir = Path(config.out_dir or scratch) / "unet"
        model, history = train_unet(config, train, val, run_dir, device, callbacks, source)
        report.metrics["seconds_training"] = time.perf_counter() - started
        refs = as_stored(references(model, train_animals, config, device))  # the templates evaluate reads back
        if config.out_dir and (run_dir / "best.pt").is_file():
            store_gbp_extras(run_dir / "best.pt", gbp_extras(config, refs))
            report.add_checkpoint("U-Net", run_dir / "best.pt", ("mouse-brain",) if source.startswith("mouse") else (),
                                  "best validation Dice; bg / WM / GM / CSF; with the GBP mask templates")
        report.tables["training: this preset vs the paper's optimiser"] = baseline_rows(
            config, history, train, val, test_animals, Path(scratch) / "baseline", device)
    analyses = [analyse_animal(model, animal, refs, config, device) for animal in test_animals]
    add_tissue_tables(report, animals)
    add_results(report, config, test_animals, analyses, history)
    _experiments(report, model, test_animals[0], analyses[0], refs, config, device)
    add_faithfulness(report, model, test_animals[0], device)
    _figures(report, animals, test_animals[0], analyses[0], history, config)
    report.metrics.update({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu})
    add_notes(report, config, source)
    report.notes += dry_run_note(config.limit_steps)
    return Outcome(report, test_animals, analyses)


def _experiments(report: Report, model, animal: Animal, analysis: AnimalAnalysis, refs, config: Config,
                 device) -> None:
    rows, arrays = translation_experiment(model, animal, analysis, refs, config, device)
    report.tables["Fig. 3 translation: true vs followed vs recovered shift (px)"] = rows
    report.add_figure("fig3_translation", figures.translation_figure(rows, arrays))
    report.metrics["translation_error_px_mean"] = sum(r["error px"] for r in rows) / len(rows)
    rows, shown = noise_experiment(model, animal, refs, config, device)
    report.tables["Fig. 4 noise: whole-volume DSC against Rician noise"] = rows
    report.add_figure("fig4_noise", figures.noise_figure(rows, shown))


def _figures(report: Report, animals, animal: Animal, analysis: AnimalAnalysis, history, config: Config) -> None:
    report.add_figure("tissue_ground_truth", figures.tissue_figure(animals[:3]))
    middle = int(animal.mask.reshape(len(animal.mask), -1).sum(1).argmax())
    report.add_figure("fig5_enhancement_histograms",
                      figures.enhancement_histograms(analysis.gradients[middle], animal.mask[middle], config))
    brain = animal.brain_slices
    picks = sorted({int(brain[int(q * (len(brain) - 1))]) for q in (0.15, 0.5, 0.85)}) if len(brain) else [0]
    report.add_figure("gbp_panels", figures.gbp_panels(animal, analysis, picks))
    report.add_figure("training_curve", figures.training_curve(history))
