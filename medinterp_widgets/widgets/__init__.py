"""ipywidgets + bokeh views. State lives in traitlets; numerics come from the core layers."""
