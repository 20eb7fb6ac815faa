"""`medinterp data verify|list`: check local copies of the real data sets against data_manifests/.

    medinterp data verify [--root DIR] [--set NAME ...] [--json]   exit 1 when a file is missing/changed
    medinterp data list [--root DIR] [--json]                       sets, license, present?
"""

from __future__ import annotations

import argparse
import json

from medinterp_widgets.resources import DATA_ENV

_SHOW = 5  # problem files printed per set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check files and SHA-256 sums against the manifests")
    verify.add_argument("--set", dest="sets", action="append", default=None, metavar="NAME",
                        help="data set to check (repeatable; default: every set present under the root)")
    listing = actions.add_parser("list", help="list the data sets, their licenses and whether present")
    for child in (verify, listing):
        child.add_argument("--root", default=None, help=f"data root holding the set folders (default: ${DATA_ENV})")
        child.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _root(args: argparse.Namespace):
    from medinterp_widgets.resources import data_root

    root = data_root(args.root)
    if root is None:
        raise ValueError(f"no data root: pass --root DIR or set ${DATA_ENV}")
    return root


def _verify(args: argparse.Namespace) -> int:
    from medinterp_widgets.data.manifests import load_manifest, manifest_names, verify_manifest

    root = _root(args)
    names = args.sets or [n for n in manifest_names() if (root / load_manifest(n)["folder"]).is_dir()]
    if not names:
        raise ValueError(f"no known data set folder under {root} ({', '.join(manifest_names())})")
    results = [verify_manifest(load_manifest(name), root) for name in names]
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
    else:
        print(f"data root: {root}")
        print(f"{'set':18s} {'expected':>8s} {'ok':>6s} {'missing':>8s} {'mismatched':>10s}  status")
        for r in results:
            status = "OK" if r.passed else "PROBLEM"
            print(f"{r.name:18s} {r.n_expected:8d} {r.n_ok:6d} {len(r.missing):8d} {len(r.mismatched):10d}  {status}")
            for kind, paths in (("missing", r.missing), ("mismatched", r.mismatched)):
                for path in paths[:_SHOW]:
                    print(f"    {kind}: {r.folder / path}")
                if len(paths) > _SHOW:
                    print(f"    ... {len(paths) - _SHOW} more {kind}")
    return 0 if all(r.passed for r in results) else 1


def _list(args: argparse.Namespace) -> int:
    from medinterp_widgets.data.manifests import load_manifest, manifest_names
    from medinterp_widgets.resources import data_root

    root = data_root(args.root)
    rows = []
    for name in manifest_names():
        manifest = load_manifest(name)
        present = root is not None and (root / manifest["folder"]).is_dir()
        rows.append({"name": name, "license": manifest["license"], "files": len(manifest["files"]),
                     "present": present, "loader": manifest["loader"], "source": manifest["source"]})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"data root: {root if root is not None else f'none (set ${DATA_ENV} or --root)'}")
    for row in rows:
        state = "present" if row["present"] else "missing"
        print(f"{row['name']:18s} {state:8s} {row['files']:5d} files  {row['license']}")
    return 0


def run(args: argparse.Namespace) -> int:
    return _verify(args) if args.action == "verify" else _list(args)
