"""Bring your own model in Voila, driven by headless Chromium (issue #15): the workbench opens a TorchScript
file given with --model, the model box loads an ONNX file, and a tap on a segmentation model's slice
selects the region to explain; no console errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from medinterp_widgets.apps import voila_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning"),
    pytest.mark.skipif(not voila_server.chromium_available(), reason="needs /usr/bin/chromium and playwright"),
]


def threshold_segmenter() -> nn.Module:
    """Logits (0.5 - x, x - 0.5): class 1 where the (0..1 windowed) slice is brighter than 0.5."""
    conv = nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([-1.0, 1.0]).view(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.5, -0.5]))
    return nn.Sequential(conv, nn.Conv2d(2, 2, 1)).eval()


def message(page) -> str:
    return page.locator(".mi-attribution-status").first.inner_text()


def test_model_file_and_model_box_and_tap_to_explain(app_url, browser_page, no_console_errors, poll_until,
                                                    tmp_path, monkeypatch):
    torch.manual_seed(0)
    segmenter = threshold_segmenter()
    with torch.no_grad():
        segmenter[1].weight.copy_(torch.eye(2).view(2, 2, 1, 1))
        segmenter[1].bias.zero_()
    scripted = tmp_path / "segmenter.pt"
    torch.jit.save(torch.jit.script(segmenter), str(scripted))
    runs = tmp_path / "runs"
    runs.mkdir()
    torch.onnx.export(segmenter, torch.rand(1, 1, 32, 32), str(runs / "segmenter.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "b", 2: "h", 3: "w"}, "y": {0: "b", 2: "h", 3: "w"}},
                      dynamo=False)
    monkeypatch.setenv("MEDINTERP_RUNS", str(runs))  # the model box may load from here
    with browser_page(app_url("workbench", model=scripted), 1300, 1900) as (page, errors):
        canvas = page.locator(".mi-attribution-viewer .mi-slice-browser canvas").first
        canvas.wait_for(timeout=120_000)
        assert "TorchScript model segmenter.pt" in message(page)
        page.wait_for_timeout(1000)  # let BokehJS paint
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # tap: explain what is there
        selected = page.locator(".mi-attribution-viewer .widget-toggle-buttons button", has_text="selected")
        assert poll_until(page, lambda: "mod-active" in (selected.first.get_attribute("class") or ""), 30), \
            "the tap did not select a region"
        model_box = page.locator(".mi-model-box input").first
        model_box.fill(str(runs / "segmenter.onnx"))
        model_box.press("Enter")
        page.get_by_role("button", name="load", exact=True).click()
        assert poll_until(page, lambda: "ONNX model segmenter.onnx" in message(page), 120), message(page)
        page.locator(".mi-attribution-viewer .mi-slice-browser canvas").first.wait_for(timeout=60_000)
    no_console_errors(errors)
