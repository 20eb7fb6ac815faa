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


def test_latest_report_picks_the_newest_written_folder(tmp_path):
    import os

    from medinterp_widgets.pipelines.report import latest_report

    assert latest_report(tmp_path / "missing", "lv-gap-cam") is None
    for age, folder in enumerate(("lv-gap-cam-full", "lv-gap-cam-quick", "lv-gap-cam")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.json").write_text("{}")
        os.utime(tmp_path / folder / "report.json", (1000 + age, 1000 + age))
    (tmp_path / "lv-gap-cam-smoke").mkdir()  # no report.json: ignored
    (tmp_path / "rodent-gbp").mkdir()
    assert latest_report(tmp_path, "lv-gap-cam") == tmp_path / "lv-gap-cam"
    os.utime(tmp_path / "lv-gap-cam-quick" / "report.json", (5000, 5000))
    assert latest_report(tmp_path, "lv-gap-cam") == tmp_path / "lv-gap-cam-quick"
    assert latest_report(tmp_path, "rodent-gbp") is None
    assert latest_report(tmp_path, "lv-gap-cam", prefer="paper") == tmp_path / "lv-gap-cam-quick"  # none written
    (tmp_path / "lv-gap-cam-paper").mkdir()
    (tmp_path / "lv-gap-cam-paper" / "report.json").write_text("{}")
    assert latest_report(tmp_path, "lv-gap-cam", prefer="paper") == tmp_path / "lv-gap-cam-paper"
