"""medinterp_widgets: an interactive explainability workbench for medical-imaging CNNs.

Layers (imports only point downward): apps -> widgets -> pipelines -> render/training ->
attribution/metrics -> models/data. The compute core (data, models, attribution, metrics,
training) never imports a UI library.
"""

__version__ = "0.1.0"
