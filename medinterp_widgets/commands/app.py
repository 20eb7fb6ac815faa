"""`medinterp app [NAME] [--port N] [--data-root DIR] [--reports DIR] [--model FILE] [--no-browser]`: serve an
app with Voila.

Voila serves the whole ``notebooks/apps`` folder (so every app is reachable) and the browser opens
NAME (default: workbench, on the embedded synthetic data; ``lv-gap-cam`` etc. for the paper apps). The
data root reaches the notebook through ``$MEDINTERP_DATA``, the reports root (where the paper apps look
for ``medinterp reproduce`` output) through ``$MEDINTERP_REPORTS``, the workbench's model file (``--model``: a
project checkpoint, TorchScript archive or ONNX file, opened wherever it is) through ``$MEDINTERP_MODEL``.
"""

from __future__ import annotations

import argparse
import os

from medinterp_widgets.resources import DATA_ENV, REPORTS_ENV


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="workbench", help="app to open (default: workbench)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866; 0 picks a free one)")
    parser.add_argument("--data-root", default=None, help=f"real-data folder for the app (default: ${DATA_ENV})")
    parser.add_argument("--reports", default=None,
                        help=f"folder of `medinterp reproduce` reports the paper apps show (default: ${REPORTS_ENV}, "
                             "else ./reports)")
    parser.add_argument("--model", default=None, metavar="FILE",
                        help="workbench only: open onto this model file "
                        "(project checkpoint, TorchScript .pt/.ts, .onnx)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)  # runs the `finally` below, so Voila and its kernels stop with us


def run(args: argparse.Namespace) -> int:
    import signal
    import webbrowser

    from medinterp_widgets.apps import voila_server
    from medinterp_widgets.resources import data_root, reports_root

    notebooks = voila_server.apps_dir()
    if not (notebooks / voila_server.notebook_name(args.name)).is_file():
        available = sorted(p.stem.replace("_", "-") for p in notebooks.glob("*.ipynb"))
        raise ValueError(f"no app named {args.name!r}; available: {', '.join(available)}")
    model = getattr(args, "model", None)
    if model is not None and args.name != "workbench":
        raise ValueError(f"--model opens a model in the workbench only, not in {args.name!r}")
    if model is not None and not os.path.isfile(model):
        raise FileNotFoundError(f"--model {model}: no such file")
    root, reports = data_root(args.data_root), reports_root(args.reports)
    port = args.port or voila_server.free_port()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    process = voila_server.start_voila(notebooks, port, data_root=root, reports=reports, model=model)
    url = voila_server.app_url(port, args.name)
    try:
        voila_server.wait_until_serving(port, process)
        print(f"medinterp app: {args.name} at {url}  (data root: {root or 'none, synthetic data only'}; "
              f"reports: {reports})")
        print("Press Ctrl-C to stop.")
        if not args.no_browser:
            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        voila_server.stop_voila(process)
