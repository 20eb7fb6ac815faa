"""Widgets that show a written report: styled HTML tables and PNG figures (the paper apps share them)."""

from __future__ import annotations

import html

import ipywidgets as widgets

# Bordered, zebra-striped tables with a grey header, numbers right-aligned, long notes wrapped; wide
# tables scroll sideways inside their box instead of being cut off.
REPORT_STYLE = """<style>
.mi-report{overflow-x:auto;max-width:100%}
.mi-report table{border-collapse:collapse;font-size:12px;margin:2px 0 14px}
.mi-report th,.mi-report td{border:1px solid #d4d7dd;padding:3px 8px;text-align:left;vertical-align:top;
  line-height:1.3}
.mi-report th{background:#eef1f5;white-space:nowrap}
.mi-report td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.mi-report td{max-width:460px}
.mi-report tbody tr:nth-child(even) td{background:#f8f9fb}
.mi-report h4{margin:14px 0 4px}
</style>"""


def report_markup(body: str) -> str:
    """``body`` (report tables, headings, notes) inside the styled, sideways-scrolling report box."""
    return f'{REPORT_STYLE}<div class="mi-report">{body}</div>'


def report_html(body: str) -> widgets.HTML:
    """An HTML widget showing ``report_markup(body)``."""
    return widgets.HTML(report_markup(body))


def figure_title(name: str) -> str:
    """A figure's file stem as a title: ``gbp_panels`` -> ``gbp panels``."""
    return name.replace("_", " ")


def figure_panels(figures: dict[str, bytes], max_width: str = "100%") -> list[widgets.Widget]:
    """One titled Image per PNG figure, in the report's order."""
    return [widgets.VBox([widgets.HTML(f"<b>{html.escape(figure_title(name))}</b>"),
                          widgets.Image(value=png, format="png", layout=widgets.Layout(max_width=max_width))])
            for name, png in figures.items()]


def figure_tabs(figures: dict[str, bytes], max_width: str = "100%", tables: str | None = None) -> widgets.Tab:
    """The figures as tabs titled by name; with ``tables`` (report HTML) a first "tables" tab shows them."""
    children = figure_panels(figures, max_width)
    titles = [figure_title(name) for name in figures]
    if tables is not None:
        children, titles = [report_html(tables), *children], ["tables", *titles]
    tabs = widgets.Tab(children=children)
    for index, title in enumerate(titles):
        tabs.set_title(index, title)
    return tabs
