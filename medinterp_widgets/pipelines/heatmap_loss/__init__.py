"""Paper 3, heatmap loss: does putting HiResCAM / Grad-CAM inside the training loss move attention into
the heart (and off a sex marker)?  ``run(Config.from_preset("quick")) -> Report``.

Modules: ``config`` (Config, presets, studies), ``data`` (synthetic experiments 1/2), ``study`` (Optuna LR
search per model, grouped training, test overlaps), ``statistics`` (the thesis's tests and numbers),
``acdc`` / ``acdc_arm`` (normal vs diseased ACDC classifiers, their evaluator), ``faithfulness`` (issue
16's scores of the CE and heatmap-loss models' maps), ``figures``, ``notes``, ``pipeline`` (run, report).
"""

from .config import Config
from .data import Split, StudyData, load_study_data
from .pipeline import StudyResults, build_report, run, run_studies
from .statistics import statistics_rows
from .study import ModelResult, mean_overlap, run_group

__all__ = ["Config", "ModelResult", "Split", "StudyData", "StudyResults", "build_report", "load_study_data",
           "mean_overlap", "run", "run_group", "run_studies", "statistics_rows"]
