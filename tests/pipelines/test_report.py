import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medinterp_widgets.pipelines import Report  # noqa: E402


def test_report_writes_json_figures_and_html(tmp_path):
    report = Report("demo", "Demo <paper>", config={"lr": 0.02, "shape": (2, 3)})
    report.metrics["dice"] = np.float32(0.91)
    report.metrics["missing"] = float("nan")
    report.compare("Dice", 91.0, 94.48, unit=" %")
    report.tables["per class"] = [{"class": "WM", "dice": 0.8}, {"class": "GM", "dice": 0.9, "n": 3}]
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    report.add_figure("curve", fig)
    page = report.write(tmp_path / "out")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["metrics"] == {"dice": np.float32(0.91).item(), "missing": None}
    assert data["comparisons"][0]["paper"] == 94.48 and data["config"]["shape"] == [2, 3]
    assert (tmp_path / "out" / "figures" / "curve.png").read_bytes()[:4] == b"\x89PNG"
    text = page.read_text()
    assert "Demo &lt;paper&gt;" in text and "figures/curve.png" in text and "94.48" in text
