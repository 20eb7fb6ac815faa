"""Which SVM on the paper's AlexNet pool5 features (covid-interp, #14, Table 1's "Deep feature + SVM" row).

    MEDINTERP_DATA=... python notebooks/tools/covid_svm_study.py OUT [seed=S] [field=value ...]

Trains the paper's AlexNet of each grouped fold at the --paper preset (an existing
OUT/alexnet-fold<k>/best.pt is reused), takes pool5 (9216-d) of every image, of its horizontal mirror too,
and scores feature scalings x kernels, C by inner grouped CV on the training fold as the pipeline does,
beside LBP + SVM on the same folds. Prints accuracy per fold and the mean. One torch thread.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler
from sklearn.svm import SVC

from medinterp_widgets.pipelines.covid_interp import baseline, features, steps
from medinterp_widgets.pipelines.covid_interp.config import Config
from medinterp_widgets.training.checkpoints import load_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
from covid_cam_study import parse  # noqa: E402

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def scalings() -> dict:
    """name -> list of transformer steps placed before the SVC."""
    root = FunctionTransformer(np.sqrt)
    return {"standard": [StandardScaler()], "l2": [Normalizer()], "sqrt+l2": [root, Normalizer()]}


def score(x_train, y_train, groups, x_test, y_test, pre: list, kernel: str, seed: int) -> float:
    """Test accuracy; C by inner grouped CV, and with ``kernel == "inner-cv"`` the scaling (standard / l2)
    and kernel (rbf / linear) too."""
    pipeline = Pipeline([("scale", pre[0]), *[(f"pre{i}", step) for i, step in enumerate(pre[1:])],
                         ("svc", SVC(kernel="rbf" if kernel == "inner-cv" else kernel))])
    grid: dict = {"svc__C": list(C_GRID)}
    if kernel == "inner-cv":
        grid.update(scale=[StandardScaler(), Normalizer()], svc__kernel=["rbf", "linear"])
    inner = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
    search = GridSearchCV(pipeline, grid, cv=inner, scoring="accuracy")
    search.fit(x_train, y_train, groups=np.asarray(groups))
    return float((search.predict(x_test) == y_test).mean())


def fold_features(config: Config, images, train, val, fold: int, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """pool5 of every image and of its mirror, from the fold's best-validation-loss AlexNet."""
    path = out / f"alexnet-fold{fold}" / baseline.BEST_CHECKPOINT
    model = baseline.build_alexnet(config)
    if path.is_file():
        model.load_state_dict(load_checkpoint(path)["model_state"])
    else:
        start = time.process_time()
        model = baseline.train_alexnet_fold(config, images, train, val, fold, out)["model"]
        print(f"fold {fold}: AlexNet trained in {time.process_time() - start:.0f} s CPU", flush=True)
    inputs = baseline.preprocess_of(config).apply(images.images)
    plain = features.deep_features(model, inputs, config.feature_layer)
    mirrored = features.deep_features(model, inputs.flip(-1), config.feature_layer)
    return plain, (plain + mirrored) / 2


def main() -> None:
    torch.set_num_threads(1)
    out, (overrides, _) = Path(sys.argv[1]), parse(sys.argv[2:])
    config = Config.from_preset("paper", data_root=os.environ.get("MEDINTERP_DATA"), **overrides)
    sets = steps.load_sets(config)
    net, alexnet = sets["net"], sets["alexnet"]
    labels, groups = net.labels.numpy(), net.groups
    lbp = features.lbp_features(sets["lbp"].images, config.lbp_points, config.lbp_radius)
    results: dict[str, list[float]] = {}
    for fold, (train, val) in enumerate(steps.fold_indices(net, config)):
        plain, mirrored = fold_features(config, alexnet, train, val, fold, out)
        named = {"lbp": lbp, "pool5": plain, "pool5 mirror-avg": mirrored}
        fold_groups = [groups[i] for i in train]
        for feature, values in named.items():
            for scaling, pre in scalings().items():
                for kernel in ("rbf", "linear", "inner-cv"):
                    if kernel == "inner-cv" and scaling != "standard":
                        continue
                    key = f"{feature:18s} {scaling:17s} {kernel}"
                    accuracy = score(values[train], labels[train], fold_groups, values[val], labels[val], pre,
                                     kernel, config.seed)
                    results.setdefault(key, []).append(accuracy)
        print(f"fold {fold} done", flush=True)
    for key, values in sorted(results.items(), key=lambda item: -np.mean(item[1])):
        print(f"{key}  mean {np.mean(values):.3f}  folds " + " ".join(f"{v:.3f}" for v in values))


if __name__ == "__main__":
    main()
