"""`medinterp app [NAME] [--port N] [--data-root DIR] [--no-browser]`: serve an app with Voila on localhost.

Voila serves the whole ``notebooks/apps`` folder (so every app is reachable) and the browser opens
NAME (default: workbench, on the embedded synthetic data). The data root reaches the notebook
through ``$MEDINTERP_DATA``.
"""

from __future__ import annotations

import argparse

from medinterp_widgets.resources import DATA_ENV


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="workbench", help="app to open (default: workbench)")
    parser.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866; 0 picks a free one)")
    parser.add_argument("--data-root", default=None, help=f"real-data folder for the app (default: ${DATA_ENV})")
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)  # runs the `finally` below, so Voila and its kernels stop with us


def run(args: argparse.Namespace) -> int:
    import signal
    import webbrowser

    from medinterp_widgets.apps import voila_server
    from medinterp_widgets.resources import data_root

    notebooks = voila_server.apps_dir()
    if not (notebooks / f"{args.name}.ipynb").is_file():
        available = sorted(p.stem for p in notebooks.glob("*.ipynb"))
        raise ValueError(f"no app named {args.name!r}; available: {', '.join(available)}")
    root = data_root(args.data_root)
    port = args.port or voila_server.free_port()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    process = voila_server.start_voila(notebooks, port, data_root=root)
    url = voila_server.app_url(port, args.name)
    try:
        voila_server.wait_until_serving(port, process)
        print(f"medinterp app: {args.name} at {url}  (data root: {root or 'none, synthetic data only'})")
        print("Press Ctrl-C to stop.")
        if not args.no_browser:
            webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        voila_server.stop_voila(process)
