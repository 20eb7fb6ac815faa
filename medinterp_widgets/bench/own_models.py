"""`medinterp bench own-models [--data-root DIR] [--json]`: bring-your-own-model, timed from opening a case in
the workbench (Python API, no browser) to the first map, for the four kinds of model of issue #15:

- a checkpoint of a user class (``byo_models.ResNetLike``, untrained, torch's default init; loaded
  through the trust button's path) on a 2-D slice: Grad-CAM at the probed layer;
- its TorchScript file (saliency: scripted modules cannot be hooked) and its ONNX file (occlusion with the
  viewer's default window), same slice;
- MONAI's DenseNet121 3-D (when monai is installed) on a 3-D NIfTI volume: Grad-CAM over the volume.

Baseline in the same run: one plain forward of the same model on the same input; the ratio is
first-map seconds / forward seconds. The 2-D case is the first ACDC slice under the data root, the 3-D
case the first mouse-brain template (both must be there). The issue's target: each under a minute.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from medinterp_widgets.bench.timing import print_results

TARGET_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help="the shared data folder (default: $MEDINTERP_DATA)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def _cases(root: Path) -> tuple[str, str]:
    slices = sorted(p.name for p in (root / "acdc" / "data").glob("*_slice_*.h5"))
    volumes = sorted(p.name for p in (root / "mouse_brain" / "template").glob("*.nii.gz"))
    if not slices or not volumes:
        raise FileNotFoundError(f"{root}: expected acdc/data/*_slice_*.h5 and mouse_brain/template/*.nii.gz")
    return f"acdc/data/{slices[0]}", f"mouse_brain/template/{volumes[0]}"


def _write_models(folder: Path):
    import torch

    from medinterp_widgets.bench.byo_models import ResNetLike
    from medinterp_widgets.training.checkpoints import atomic_save, checkpoint_payload

    torch.manual_seed(0)
    model = ResNetLike(2, in_channels=1, classes=2).eval()
    atomic_save(checkpoint_payload(model, model_kwargs={"dims": 2, "in_channels": 1, "classes": 2}),
                folder / "resnet.pt")
    torch.jit.save(torch.jit.script(model), str(folder / "resnet_scripted.pt"))
    axes = {"x": {0: "b", 2: "h", 3: "w"}, "y": {0: "b"}}
    torch.onnx.export(model, torch.rand(1, 1, 64, 64), str(folder / "resnet.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes=axes, dynamo=False)
    return model


def _first_map(root: Path, case: str, open_model) -> dict:
    """Seconds (wall, process CPU) from a new workbench on ``case`` to the viewer's first map."""
    from medinterp_widgets.apps.workbench import Workbench

    wall, cpu = time.perf_counter(), time.process_time()
    app = Workbench(data_root=root, runs_dir=None)
    if not app.open_path(case):
        raise RuntimeError(app.status)
    open_model(app.attribution)
    viewer = app.attribution.viewer
    if viewer is None or viewer.error:
        raise RuntimeError(app.attribution.message.value + (viewer.error if viewer else ""))
    seconds = time.perf_counter() - wall
    x = viewer.x
    start = time.perf_counter()
    viewer.model(x)
    forward = time.perf_counter() - start
    return {"case": case, "method": viewer.method, "layer": viewer.layer_used or "-", "input": list(x.shape),
            "first_map_s": round(seconds, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "forward_s": round(forward, 4), "ratio_vs_forward": round(seconds / max(forward, 1e-9), 1),
            "under_target": seconds < TARGET_S}


def run(args: argparse.Namespace) -> int:
    import torch

    from medinterp_widgets.models import trust_model_module
    from medinterp_widgets.resources import data_root

    torch.set_num_threads(args.threads)
    root = data_root(args.data_root)
    if root is None:
        raise FileNotFoundError("own-models: needs the shared data (--data-root or $MEDINTERP_DATA)")
    slice_case, volume_case = _cases(root)
    folder = Path(tempfile.mkdtemp(prefix="medinterp-own-models-"))
    _write_models(folder)
    trust_model_module("medinterp_widgets.bench.byo_models")  # what the trust button does after a yes
    results = {}
    for name in ("resnet.pt", "resnet_scripted.pt", "resnet.onnx"):
        results[name] = _first_map(root, slice_case, lambda panel, name=name: panel.open_file(folder / name))
    try:
        from monai.networks.nets import DenseNet121
    except ImportError:
        results["monai_densenet121_3d"] = "skipped: monai is not installed"
    else:
        torch.manual_seed(0)
        model = DenseNet121(spatial_dims=3, in_channels=1, out_channels=2)
        results["monai_densenet121_3d"] = _first_map(
            root, volume_case, lambda panel: panel.set_model(model, "MONAI DenseNet121 3-D"))
    print_results({"threads": args.threads, "cpu_count": os.cpu_count(), "results": results}, args.json)
    return 0
