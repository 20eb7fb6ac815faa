"""Synthetic phantoms: embedded defaults for the workbench and fast tests (numpy + scipy only, seeded).

Every generator takes a ``seed`` and draws all randomness from ``np.random.default_rng(seed)``:
the same seed gives identical arrays.
"""

from medinterp_widgets.data.synthetic.brain import synthetic_brain, synthetic_brain_slices
from medinterp_widgets.data.synthetic.cine import synthetic_cine_lv

__all__ = ["synthetic_brain", "synthetic_brain_slices", "synthetic_cine_lv"]
