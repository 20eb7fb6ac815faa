"""`Report`: what a reproduced paper produces: metrics, our-vs-paper comparisons, tables, figures.

``Report.write(out_dir)`` writes ``report.json``, ``figures/<name>.png`` and a self-contained
``report.html`` (figures linked relative to it). ``Report.add_checkpoint`` names a trained model's
checkpoint and the ``medinterp evaluate`` data set kinds it can be scored on; report.json lists the
ready-to-run commands under ``checkpoints``.
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# `medinterp evaluate --dataset KIND` -> the folder of that data set under the data root
EVAL_FOLDERS = {"sunnybrook": "sunnybrook", "acdc": "acdc", "covid-ct": "covid_ct",
                "covid-lesions": "covid_ct_lesions", "mouse-brain": "mouse_brain", "acdc-diagnosis": "acdc"}


@dataclass
class Comparison:
    """One of our numbers beside the paper's (``paper`` None for a row of ours the paper has no counterpart for,
    e.g. a baseline we added; a paper value not yet quoted says so in ``note``)."""

    name: str
    ours: float | None
    paper: float | None = None
    unit: str = ""
    note: str = ""


@dataclass
class Report:
    name: str
    title: str
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)  # name -> PNG bytes
    notes: list[str] = field(default_factory=list)
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> path, datasets, note
    faithfulness: dict[str, Any] = field(default_factory=dict)  # faithfulness scores of the figures' maps

    def compare(self, name: str, ours, paper=None, unit: str = "", note: str = "") -> None:
        self.comparisons.append(Comparison(name, _plain(ours), _plain(paper), unit, note))

    def add_checkpoint(self, name: str, path: str | Path, datasets: tuple[str, ...] = (), note: str = "") -> None:
        """Name a trained model's checkpoint; ``datasets``: ``medinterp evaluate --dataset`` kinds it fits."""
        self.checkpoints[name] = {"path": str(Path(path).resolve()), "datasets": list(datasets), "note": note}

    def evaluate_commands(self) -> list[str]:
        """One ``medinterp evaluate`` command per (checkpoint, data set kind); data under $MEDINTERP_DATA."""
        return [f"medinterp evaluate --checkpoint {entry['path']} --data $MEDINTERP_DATA/{EVAL_FOLDERS[kind]} "
                f"--dataset {kind}" for entry in self.checkpoints.values() for kind in entry["datasets"]]

    def add_figure(self, name: str, figure) -> None:
        """Store a matplotlib figure (rendered to PNG, then closed) or raw PNG bytes under ``name``."""
        if isinstance(figure, (bytes, bytearray)):
            self.figures[name] = bytes(figure)
            return
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(figure)
        self.figures[name] = buffer.getvalue()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "config": _plain(self.config),
            "metrics": _plain(self.metrics),
            "comparisons": [_plain(asdict(c)) for c in self.comparisons],
            "tables": _plain(self.tables),
            "figures": [f"figures/{name}.png" for name in self.figures],
            "notes": list(self.notes),
            "checkpoints": _plain(self.checkpoints),
            "evaluate_commands": self.evaluate_commands(),
            "faithfulness": _plain(self.faithfulness),
        }

    def write(self, out_dir: str | Path) -> Path:
        """Write report.json, figures/*.png and report.html into ``out_dir``; return the HTML path."""
        out = Path(out_dir)
        (out / "figures").mkdir(parents=True, exist_ok=True)
        for name, png in self.figures.items():
            (out / "figures" / f"{name}.png").write_bytes(png)
        (out / "report.json").write_text(json.dumps(self.to_json(), indent=2, allow_nan=True))
        page = out / "report.html"
        page.write_text(_html(self))
        return page


def read_report(folder: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(report.json payload, {figure name: PNG bytes}) of a folder written by ``Report.write``."""
    folder = Path(folder)
    path = folder / "report.json"
    if not path.is_file():
        raise FileNotFoundError(f"no report.json in {folder} (not found; write one with "
                                f"`medinterp reproduce NAME --out {folder}`)")
    payload = json.loads(path.read_text())
    figures = {Path(name).stem: (folder / name).read_bytes() for name in payload.get("figures", [])
               if (folder / name).is_file()}
    return payload, figures


def latest_report(root: str | Path, name: str, prefer: str | None = None) -> Path | None:
    """The newest folder ``root/NAME`` or ``root/NAME-<preset>`` holding a report.json (None when none does);
    ``root/NAME-<prefer>`` first when it holds one (the apps prefer the ``--paper`` report)."""
    root = Path(root)
    if prefer and (root / f"{name}-{prefer}" / "report.json").is_file():
        return root / f"{name}-{prefer}"
    candidates = [root / name, *root.glob(f"{name}-*")] if root.is_dir() else []
    written = [folder for folder in candidates if (folder / "report.json").is_file()]
    return max(written, key=lambda folder: (folder / "report.json").stat().st_mtime, default=None)


def comparison_rows(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows ``measure, ours, paper, unit, note`` of report.json's comparisons (dicts of ``Comparison``)."""
    return [{"measure": c["name"], "ours": c["ours"], "paper": c.get("paper"), "unit": c.get("unit", ""),
             "note": c.get("note", "")} for c in comparisons]


def comparisons_html(comparisons: list[dict[str, Any]], heading: str = "Ours beside the paper") -> str:
    """The comparisons as a headed HTML table ("" when there are none)."""
    if not comparisons:
        return ""
    return f"<h4>{html.escape(heading)}</h4>{html_table(comparison_rows(comparisons))}"


def tables_html(tables: dict[str, list[dict[str, Any]]]) -> str:
    """Report tables (name -> rows) as HTML sections, in the report page's own table format."""
    return "".join(f"<h4>{html.escape(name)}</h4>{html_table(_plain(rows))}" for name, rows in tables.items() if rows)


def _plain(value):
    """JSON-friendly copy: numpy/torch scalars and arrays to Python, tuples to lists, paths to str."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy / torch
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _cell(value) -> str:
    """A table cell; numbers get class "num" (right-aligned by the apps' style)."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{_fmt(value)}</td>' if numeric else f"<td>{_fmt(value)}</td>"


def html_table(rows: list[dict[str, Any]]) -> str:
    """An HTML table of ``rows`` (one dict per row; columns in first-seen order; values escaped)."""
    if not rows:
        return "<p>(empty)</p>"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c)) for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(report: Report) -> str:
    parts = [f"<h1>{html.escape(report.title)}</h1>"]
    if report.comparisons:
        rows = comparison_rows([asdict(c) for c in report.comparisons])
        parts += ["<h2>Ours beside the paper</h2>", html_table(rows)]
    if report.metrics:
        rows = [{"metric": k, "value": v} for k, v in _plain(report.metrics).items()]
        parts += ["<h2>Metrics</h2>", html_table(rows)]
    for name, rows in report.tables.items():
        parts += [f"<h2>{html.escape(name)}</h2>", html_table(_plain(rows))]
    for name in report.figures:
        parts.append(f'<figure><img src="figures/{html.escape(name)}.png" alt="{html.escape(name)}">'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    if report.checkpoints:
        rows = [{"model": name, **entry, "datasets": ", ".join(entry["datasets"])}
                for name, entry in report.checkpoints.items()]
        commands = html.escape("\n".join(report.evaluate_commands()))
        parts += ["<h2>Checkpoints</h2>", html_table(rows), f"<pre>{commands}</pre>"]
    if report.notes:
        parts += ["<h2>Notes</h2><ul>"] + [f"<li>{html.escape(n)}</li>" for n in report.notes] + ["</ul>"]
    config = html.escape(json.dumps(_plain(report.config), indent=2))
    parts += ["<h2>Configuration</h2>", f"<pre>{config}</pre>"]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>" \
           f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
