"""Synthetic phantoms: embedded defaults for the workbench and fast tests (numpy + scipy only, seeded).

Every generator takes a ``seed`` and draws all randomness from ``np.random.default_rng(seed)``:
the same seed gives identical arrays.
"""

from medinterp_widgets.data.synthetic.brain import synthetic_brain, synthetic_brain_slices
from medinterp_widgets.data.synthetic.cardiac import CardiacBatch, synthetic_cardiac_mri
from medinterp_widgets.data.synthetic.cine import synthetic_cine_lv
from medinterp_widgets.data.synthetic.lung import synthetic_covid_ct, synthetic_lung_ct

__all__ = [
    "CardiacBatch",
    "synthetic_brain",
    "synthetic_brain_slices",
    "synthetic_cardiac_mri",
    "synthetic_cine_lv",
    "synthetic_covid_ct",
    "synthetic_lung_ct",
]
