"""Widgets that show a written report's PNG figures (the paper apps share them)."""

from __future__ import annotations

import html

import ipywidgets as widgets


def figure_panels(figures: dict[str, bytes], max_width: str = "900px") -> list[widgets.Widget]:
    """One titled Image per PNG figure, in the report's order."""
    return [widgets.VBox([widgets.HTML(f"<b>{html.escape(name)}</b>"),
                          widgets.Image(value=png, format="png", layout=widgets.Layout(max_width=max_width))])
            for name, png in figures.items()]


def figure_tabs(figures: dict[str, bytes], max_width: str = "900px") -> widgets.Tab:
    """The figures as tabs titled by name."""
    tabs = widgets.Tab(children=figure_panels(figures, max_width))
    for index, name in enumerate(figures):
        tabs.set_title(index, name)
    return tabs
