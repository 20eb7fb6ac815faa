"""`medinterp` with no subcommand: what data is available and what the workbench opens."""

from __future__ import annotations

import argparse

from medinterp_widgets.resources import DATA_ENV, data_root

_REAL_SETS = ("sunnybrook", "acdc", "covid_ct", "covid_ct_lesions", "mouse_brain")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None, help=f"real-data folder (default: ${DATA_ENV})")


def run(args: argparse.Namespace) -> int:
    root = data_root(args.data_root)
    print("medinterp_widgets: interactive explainability workbench for medical-imaging CNNs\n")
    print("Embedded synthetic data (always available): cardiac MRI (normal/HCM/DCM/ARV), cine LV phantom,")
    print("brain phantom (WM/GM/CSF), lung CT with ground-glass lesions.\n")
    if root is None:
        print(f"Real data: none (set ${DATA_ENV} or pass --data-root).")
    else:
        print(f"Real data root: {root}")
        for name in _REAL_SETS:
            state = "present" if (root / name).is_dir() else "missing"
            print(f"  {name:18s} {state}")
    print("\nOpen the workbench:  medinterp app workbench")
    print("Check a data copy:   medinterp data verify --root DIR")
    return 0
