"""The covid-interp report's numbers: Table 1 beside the paper, ablations, fold stability, consistent
degrees, flat metrics and notes."""

from __future__ import annotations

import numpy as np

from . import features
from .config import VARIANTS, Config

RATES_AUC = (*features.RATES, "auc")
# Table 1 of the paper (percent). AlexNet: the abstract. LBP + SVM: the abstract's "traditional method",
# i.e. AlexNet minus the stated gains (94.75 - 8.30, 93.22 - 4.32, 96.69 - 13.33, 97.27 - 10.25, 91.88 - 6.19).
PAPER_RATES = {
    "AlexNet": dict(accuracy=94.75, sensitivity=93.22, specificity=96.69, ppv=97.27, npv=91.88),
    "LBP + SVM": dict(accuracy=86.45, sensitivity=88.90, specificity=83.36, ppv=87.02, npv=85.69),
}
PAPER_CONSISTENT_DEGREE = 60.02  # percent, Grad-CAM support vs radiologists' lesions, 500 images
METHOD_NAMES = {"lbp": "LBP + SVM", "deep": "Deep features (pool5) + SVM", "alexnet": "AlexNet",
                "pooled": "Deep features (explained classifier, pooled) + SVM",
                "final": "Explained classifier (SmallResNet)"}
METRIC_PREFIXES = {"lbp": "lbp_svm", "deep": "deep_svm", "pooled": "pooled_svm", "alexnet": "alexnet"}
FINAL_TITLE = "Explained classifier (ours, final)"


def variant_title(name: str) -> str:
    return FINAL_TITLE if name == "final" else "  " + VARIANTS[name][0]


def _summary(per_fold: list[dict]) -> dict[str, tuple[float, float]]:
    """rate -> (mean, sample sd) over folds, NaN folds left out (``features.summarise_folds`` + AUC)."""
    summary = features.summarise_folds(per_fold)
    values = np.array([fold.get("auc", np.nan) for fold in per_fold], dtype=float)
    values = values[np.isfinite(values)]
    summary["auc"] = (float(values.mean()) if values.size else float("nan"),
                      float(values.std(ddof=1)) if values.size > 1 else 0.0)
    return summary


def method_summary(trained: dict) -> dict[str, dict[str, tuple[float, float]]]:
    """Table 1's methods (and every explained-classifier variant): rate -> (mean, sd) over folds."""
    summary = {METHOD_NAMES[key]: _summary([row[METHOD_NAMES[key]] for row in trained["svms"]])
               for key in ("lbp", "deep", "pooled")}
    summary[METHOD_NAMES["alexnet"]] = _summary([r["scores"] for r in trained["alexnet"]])
    for name, results in trained["explained"].items():
        summary[variant_title(name)] = _summary([r["scores"] for r in results])
    return summary


def _percent(mean_sd: tuple[float, float]) -> str:
    mean, sd = mean_sd
    return "n/a" if not np.isfinite(mean) else f"{100 * mean:.2f} ± {100 * sd:.2f}"


def table1_rows(summary: dict) -> list[dict]:
    """The paper's rows beside ours: 'mean ± sd' percent per rate over folds; the paper's single numbers."""
    rows = []
    for key in ("lbp", "deep", "alexnet"):
        name = METHOD_NAMES[key]
        paper = PAPER_RATES.get(name)
        rows.append({"method": name, "source": "paper (Wan et al.)",
                     **{rate: (f"{paper[rate]:.2f}" if paper else "not found") for rate in features.RATES},
                     "auc": "not given"})
        rows.append({"method": name, "source": "ours", **{rate: _percent(summary[name][rate]) for rate in RATES_AUC}})
    for name, title in ((METHOD_NAMES["pooled"], METHOD_NAMES["pooled"]), (METHOD_NAMES["final"], FINAL_TITLE)):
        rows.append({"method": name, "source": "ours (not in the paper)",
                     **{rate: _percent(summary[title][rate]) for rate in RATES_AUC}})
    return rows


def ablation_rows(summary: dict, trained: dict, found: dict) -> list[dict]:
    """Paper AlexNet, then the explained classifier and each variant without one of its choices."""
    degree = {}
    for row in found["degree_rows"]:
        degree.setdefault(row["variant"], []).append(row["untouched CD / chance"])
    rows = [_ablation(METHOD_NAMES["alexnet"] + " (the paper's training: SGD + momentum, no augmentation)",
                      summary[METHOD_NAMES["alexnet"]], [r["scores"] for r in trained["alexnet"]], None)]
    for name, results in trained["explained"].items():
        rows.append(_ablation(variant_title(name), summary[variant_title(name)], [r["scores"] for r in results],
                              degree.get(name)))
        if name == "final" and _has_texture_term(results):
            cnn = [r["cnn_scores"] for r in results]
            rows.append(_ablation(CNN_ALONE_TITLE, _summary(cnn), cnn, degree.get(name)))
    return rows


CNN_ALONE_TITLE = "  its CNN term alone (no LBP texture term; same models, own threshold)"


def _has_texture_term(results: list[dict]) -> bool:
    return any(r.get("cnn_scores") is not None and r["cnn_scores"] != r["scores"] for r in results)


def _ablation(title: str, summary: dict, per_fold: list[dict], ratios) -> dict:
    return {"model": title, "accuracy": _percent(summary["accuracy"]), "auc": _percent(summary["auc"]),
            "min fold accuracy": min(f["accuracy"] for f in per_fold), "min fold AUC": min(f["auc"] for f in per_fold),
            "CD / chance (untouched MedSeg, mean over folds)": float(np.nanmean(ratios)) if ratios else None}


def fold_rows(trained: dict) -> list[dict]:
    """Per fold: each model's test rates, the AlexNet epoch reported (= best.pt) and the stability check."""
    rows = []
    for fold, (alexnet, svms) in enumerate(zip(trained["alexnet"], trained["svms"])):
        stability = alexnet["stability"]
        rows.append({"fold": fold, "model": "AlexNet", "epoch reported (best.pt)": alexnet["best_epoch"],
                     "stuck at one class": stability["stuck"], "check": stability["reason"], **alexnet["scores"]})
        rows += [{"fold": fold, "model": name, **scores} for name, scores in svms.items()]
        for name, results in trained["explained"].items():
            scores = results[fold]["scores"]
            one_class = scores["sensitivity"] == 0 or scores["specificity"] == 0
            rows.append({"fold": fold, "model": f"explained: {name}", "epoch reported (best.pt)": "last",
                         "stuck at one class": bool(one_class), **{k: scores[k] for k in RATES_AUC}})
    return rows


def curve_rows(history: list[dict]) -> list[dict]:
    """Per epoch: train and test loss and rates (the paper's training-trend curves)."""
    rows = []
    for epoch, splits in enumerate(history, start=1):
        row = {"epoch": epoch}
        for split, name in (("train", "train"), ("val", "test")):
            row.update({f"{name}_{key}": splits[split][key] for key in ("loss", *features.RATES)})
        rows.append(row)
    return rows


def lesion_rows(found: dict, lesions) -> list[dict]:
    untouched = set(found["untouched"].tolist())
    lesion = found["lesions"]
    return [{"case": case, "part": "untouched" if i in untouched else "dev", "consistent_degree": lesion["degrees"][i],
             "support_area": lesion["areas"][i], "chance_in_lungs": lesion["lung_chance"][i],
             "lesion_area": float(lesions.native_masks[i].mean()),
             "p_covid": lesion["p_covid"][i]} for i, case in enumerate(lesions.case_ids)]


def flat_metrics(summary: dict, trained: dict, found: dict, cpu_seconds: dict[str, float]) -> dict:
    """The report's flat ``metrics``: the explained classifier's fold rates, the baselines, the
    consistent degree on the untouched MedSeg half (best fold) beside its chance level, CPU time."""
    final = trained["explained"]["final"]
    metrics = {}
    for rate in RATES_AUC:
        values = np.array([r["scores"][rate] for r in final], dtype=float)
        finite = values[np.isfinite(values)]
        metrics[rate] = float(finite.mean()) if finite.size else float("nan")
        metrics[f"{rate}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        metrics[f"{rate}_min"] = float(finite.min()) if finite.size else float("nan")
    if _has_texture_term(final):
        for rate in ("accuracy", "auc"):
            values = np.array([r["cnn_scores"][rate] for r in final], dtype=float)
            metrics.update({f"cnn_{rate}": float(np.nanmean(values)), f"cnn_{rate}_min": float(np.nanmin(values))})
    for fold, result in enumerate(final):
        metrics.update({f"fold{fold}_accuracy": result["scores"]["accuracy"],
                        f"fold{fold}_auc": result["scores"]["auc"],
                        f"fold{fold}_threshold": result["scores"]["threshold"]})
    for key, prefix in METRIC_PREFIXES.items():
        for rate in RATES_AUC:
            metrics[f"{prefix}_{rate}"] = summary[METHOD_NAMES[key]][rate][0]
    metrics["alexnet_best_epochs"] = [r["best_epoch"] for r in trained["alexnet"]]
    metrics["alexnet_stuck_folds"] = [f for f, r in enumerate(trained["alexnet"]) if r["stability"]["stuck"]]
    lesion, rows = found["lesions"], found["untouched"]
    chance = float(np.mean(lesion["areas"][rows]))
    degree = float(np.nanmean(lesion["degrees"][rows]))
    lungs = float(np.nanmean(lesion["lung_chance"][rows]))
    every = [row["untouched CD / chance"] for row in found["degree_rows"] if row["variant"] == "final"]
    metrics.update({"best_fold": found["best_fold"], "consistent_degree_mean": degree, "chance_support_area": chance,
                    "degree_over_chance": degree / chance if chance > 0 else float("nan"),
                    "chance_in_lungs": lungs, "degree_over_lung_chance": degree / lungs if lungs > 0 else float("nan"),
                    "support_in_lungs": float(np.nanmean(lesion["support_in_lungs"][rows])),
                    "p_covid_mean": float(np.mean(lesion["p_covid"][rows])), "n": int(len(rows)),
                    "consistent_degree_mean_all_slices": float(np.nanmean(lesion["degrees"])),
                    "chance_support_area_all_slices": float(np.mean(lesion["areas"])),
                    "degree_over_chance_min_fold": float(np.nanmin(every)) if every else float("nan"),
                    "paper_consistent_degree": PAPER_CONSISTENT_DEGREE / 100})
    for row in found.get("faithfulness", []):
        metrics.update({f"faithfulness/{row['method']}/{key}": value for key, value in row.items()
                        if isinstance(value, float)})
    metrics.update({f"cpu_seconds/{name}": round(value, 1) for name, value in cpu_seconds.items()})
    metrics["cpu_seconds_total"] = round(sum(cpu_seconds.values()), 1)
    return metrics


def add_comparisons(report, summary: dict, metrics: dict) -> None:
    """Ours beside the paper: Table 1 (percent) and the consistent degree."""
    for key in ("alexnet", "lbp", "deep"):
        name = METHOD_NAMES[key]
        paper = PAPER_RATES.get(name, {})
        for rate in features.RATES:
            note = "" if paper else "the paper's deep-feature row could not be retrieved (see notes)"
            report.compare(f"{name} {rate}", 100 * summary[name][rate][0], paper.get(rate), "%", note)
    final = FINAL_TITLE
    for rate in features.RATES:
        report.compare(f"explained classifier {rate}", 100 * summary[final][rate][0], PAPER_RATES["AlexNet"][rate], "%",
                       "paper column: the paper's AlexNet (its best model)")
    report.compare("consistent degree (untouched MedSeg slices)", 100 * metrics["consistent_degree_mean"],
                   PAPER_CONSISTENT_DEGREE, "%", f"chance level {100 * metrics['chance_support_area']:.1f} % "
                   f"(support area); ratio {metrics['degree_over_chance']:.2f}; paper: 500 images of its own data")


FAITHFULNESS_TABLE = "Faithfulness of the explained classifier's maps (best fold, untouched MedSeg slices, lesion mask)"


def faithfulness_summary(config: Config, found: dict) -> dict:
    """report.json's ``faithfulness`` object: what was scored, with which settings, and one row per method."""
    rows = found["faithfulness"]
    return {"model": f"explained classifier, fold {found['best_fold']} (best)", "target": "COVID class",
            "mask": "MedSeg radiologists' infection mask (untouched half)",
            "slices": rows[0]["slices"] if rows else [],
            "settings": {"steps": config.faithfulness_steps, "baseline": "blur", "output": "probability",
                         "support_threshold": config.cam_threshold, "gradcam_layer": config.cam_layer},
            "rows": [{k: v for k, v in row.items() if k != "slices"} for row in rows]}


def faithfulness_note(config: Config, found: dict) -> str:
    rows = {row["method"]: row for row in found["faithfulness"]}
    scored = ", ".join(f"{name} deletion {row['deletion_auc']:.2f} / insertion {row['insertion_auc']:.2f} / "
                       f"randomisation {'passed' if row['randomisation_passed'] >= 0.5 else 'failed'}"
                       for name, row in rows.items())
    return (f"Faithfulness (issue #16; attribution.faithfulness.faithfulness_table): Grad-CAM at '{config.cam_layer}', "
            f"guided backprop and saliency of the COVID class on {config.faithfulness_slices} untouched MedSeg slices "
            f"of the best fold, the lesion mask as the localisation mask; deletion / insertion over "
            f"{config.faithfulness_steps} steps with a blurred baseline (lower / higher is better), "
            "ROAD (LeRF - MoRF), "
            "randomisation (similarity to the fully randomised model's map; passed = dissimilar), pointing game, "
            f"relevance mass and the consistent degree. {scored or 'No slice was scored.'}")


def all_tables(config: Config, summary: dict, trained: dict, found: dict, lesions, folds,
               cpu_seconds: dict[str, float]) -> dict[str, list[dict]]:
    tables = {"Table 1: test rates, mean ± sd over folds (%), the paper's beside ours": table1_rows(summary),
              "Ablation: what each choice of the explained classifier adds": ablation_rows(summary, trained, found),
              "Per-fold test rates and stability": fold_rows(trained),
              "Consistent degree per model (MedSeg dev / untouched halves)": found["degree_rows"],
              "Grad-CAM layer study (why the maps sat on the mediastinum)": found["layer_rows"],
              "Consistent degree per lesion slice (best fold)": lesion_rows(found, lesions),
              FAITHFULNESS_TABLE: [{k: v for k, v in row.items() if k != "slices"} for row in found["faithfulness"]],
              **{f"Pretraining: {name}, per epoch": rows for name, rows in trained["pretraining"].items()},
              "CPU seconds per stage (one process)": [{"stage": k, "cpu_seconds": round(v, 1)}
                                                      for k, v in cpu_seconds.items()],
              "Paper AlexNet checkpoints (baseline row, best validation epoch)": [
                  {"fold": f, "epoch": r["best_epoch"], "path": str(r["checkpoint"]),
                   "evaluate": f"medinterp evaluate --checkpoint {r['checkpoint']} --data $MEDINTERP_DATA/covid_ct "
                               "--dataset covid-ct --json"} for f, r in enumerate(trained["alexnet"])]}
    for fold, result in enumerate(trained["alexnet"]):
        tables[f"Training curves, paper AlexNet, fold {fold}"] = curve_rows(result["history"])
    for fold, result in enumerate(trained["explained"]["final"]):
        tables[f"Training curves, explained classifier, fold {fold}"] = curve_rows(result["history"])
    return tables


def notes(config: Config, images, trained: dict, found: dict) -> list[str]:
    """What was run, how it deviates from the paper, and why."""
    stuck = [f for f, r in enumerate(trained["alexnet"]) if r["stability"]["stuck"]]
    epochs = [r["best_epoch"] for r in trained["alexnet"]]
    layer = {row["layer"].split(" ")[0]: row for row in found["layer_rows"]}
    alex = next(row for row in found["layer_rows"] if row["model"].startswith("paper AlexNet"))
    chosen = layer.get(config.cam_layer, {})
    text = [
        f"Data: {images.source}; {len(images)} images in {len(set(images.groups))} source groups; {config.folds}-fold "
        "cross-validation grouped by source (StratifiedGroupKFold over the loader's group keys: no paper or scan on "
        f"both sides), {len(trained['alexnet'])} fold(s) run. Every number below is on a fold's held-out groups.",
        f"Paper AlexNet (baseline row): conv widths {list(config.alexnet_channels)} (96 first-layer 11 x 11 filters, "
        f"pool5 256 x 6 x 6 = 9216-d), two FC layers of {config.alexnet_hidden} with dropout {config.alexnet_dropout}, "
        f"two outputs; SGD momentum {config.alexnet_momentum}, lr {config.alexnet_lr}, weight decay "
        f"{config.alexnet_weight_decay}, {config.alexnet_epochs} epochs, batch {config.alexnet_batch_size}, per-image "
        f"z-score at {config.alexnet_size} px, no augmentation. Deviations: trained from scratch (no ImageNet weights "
        "can be downloaded; the paper fine-tunes), input and FC width below the paper's 224 px / 4096 to fit the "
        "CPU budget (the full preset uses 224 px and 4096), He-normal initialisation and a one-epoch LR warmup "
        "before a cosine decay (without them a fold can stay at one class for all 50 epochs).",
        f"AlexNet rates, curves and the deep features come from the epoch with the lowest validation loss, which is "
        f"the epoch its best.pt holds (epochs {epochs}); this selects on the test fold as the paper did, so they are "
        "optimistic. Folds stuck at one class: " + (", ".join(map(str, stuck)) if stuck else "none") + ".",
        explained_note(config, trained),
        faithfulness_note(config, found),
        "Ablation rows (each on the same folds): " + "; ".join(
            f"'{name}' = {VARIANTS[name][0]}" for name in config.ablations) + ". A row with SimCLR pretraining "
        "uses all UCSD images (the validation folds' included) and the MedSeg dev half, labels never read.",
        f"Deep features + SVM: pool5 of each fold's AlexNet (best epoch) -> {config.deep_svm_scaling} scaling + "
        f"SVC({config.deep_svm_kernel}) (not stated in the paper; rows scaled to unit L2 norm and a linear SVM, the "
        "usual recipe for CNN activations, beat StandardScaler + RBF on our folds: README), and (a row the paper does "
        "not have) the average-pooled last-stage features of each fold's explained classifier, -> StandardScaler + "
        f"SVC({config.svm_kernel}); LBP + SVM: "
        f"59-bin non-rotation-invariant uniform LBP (P={config.lbp_points}, R={config.lbp_radius}) at "
        f"{config.lbp_size} px -> StandardScaler + SVC({config.svm_kernel}); every SVM is fitted on the fold's "
        f"training images with C from {list(config.svm_c)} chosen by a 3-fold inner cross-validation grouped by "
        "source on those training images only (the chosen C per fold is in the fold table).",
        "The paper's deep features + SVM numbers could not be retrieved with the tools available here: the stored "
        "copies of the paper (MDPI, PubMed, the CORD-19 text) give only the abstract (AlexNet 94.75 / 93.22 / 96.69 / "
        "97.27 / 91.88 % and its gains over the traditional method, from which the LBP + SVM row is derived); searches "
        "for the title, 'consistent degree', 'deep features SVM', '86.45%' in the web-page, documentation, code and "
        "issue indexes found no body text or table. That row says 'not found' rather than guessing.",
        f"Consistent degree: Grad-CAM of the COVID class at '{config.cam_layer}' of the best fold's explained "
        f"classifier, support = minmax(CAM) >= {config.cam_threshold}, scored at each MedSeg slice's native size "
        "against the radiologists' infection mask; chance level = the share of the image the support covers (the "
        "expected consistent degree of a support of that size placed at random); a stricter chance level places it "
        "at random inside the lung fields (lungs.lung_mask), since a map that merely covers the lungs beats the first "
        "(metrics chance_in_lungs, degree_over_lung_chance). The "
        "MedSeg slices are split once into a dev half (used in development to choose the layer and the design; "
        "seen label-free by a SimCLR row, trained on with its masks by the lesion guidance) and an untouched half "
        "(the headline number, never trained on). MedSeg slices are whole CT "
        "slices stored turned by 90 degrees (spine on the right); they are turned back (spine down, as in the UCSD "
        "figures) before the model sees them, which raised P(COVID) and the consistent degree in development. The "
        "paper's 60.02 % is on 500 images of its own data.",
        f"Grad-CAM layer study (dev / untouched MedSeg halves): the paper AlexNet's conv5 is a {_conv5_cells(config)}"
        f" x {_conv5_cells(config)} map at {config.alexnet_size} px (untouched CD / chance "
        f"{alex.get('untouched CD / chance', float('nan')):.2f}); the explained classifier at '{config.cam_layer}' "
        f"(untouched CD / chance {chosen.get('untouched CD / chance', float('nan')):.2f}); all candidate layers are "
        "in the layer study table.",
        "Embeddings (Figs. 6-7) use the best AlexNet fold's pool5 features of every image (training and test) and "
        "the LBP histograms; Figs. 8-10 show that AlexNet; Figs. 11-12 the best explained fold on untouched slices.",
    ]
    if images.source.startswith("synthetic"):
        text.append("No real COVID-CT data was found: synthetic_covid_ct stands in, so numbers are not comparable "
                    "with the paper.")
    return text


def explained_note(config: Config, trained: dict) -> str:
    """How the explained classifier was built, from its config."""
    head = (f"top-k evidence pooling (an evidence map from a 1 x 1 conv, image score = mean of its top "
            f"{100 * config.topk_fraction:.0f} % cells: multiple-instance pooling)" if config.pooling == "topk"
            else "global average pooling and a linear head")
    gate = (" only from the lung fields (cells darker than the image mean: the mediastinum, bone and chest wall "
            "cannot be evidence; Grad-CAM at the gate)" if config.lung_gate else "")
    if config.lesion_pretrain:
        start = (f"pretrained for {config.lesion_pretrain_epochs} epochs on {config.lesion_pretrain_images} simulated "
                 "chest CT slices (data.synthetic_covid_ct: ground-glass / consolidation lesions vs nodules; image "
                 "label + lesion cells; no real image or label)")
    elif config.ssl_epochs:
        start = (f"SimCLR-pretrained for {config.ssl_epochs} epochs on {trained['unlabeled_count']} unlabelled images "
                 "(all UCSD images, the validation folds' included, plus the MedSeg dev half)")
    else:
        start = "trained from scratch"
    crops = f", crops down to 1/{config.max_zoom:g} of the field of view" if config.max_zoom else ""
    crops += ", right-angle rotations" if config.rot90 else ""
    focus = ", only the lung fields (lungs.lung_mask; the rest set to the lung mean)" if config.lung_focus else ""
    return (f"Explained classifier (a different net from the paper's AlexNet, which stays the baseline row): "
            f"SmallResNet widths {list(config.widths)} at {config.image_size} px, '{config.intensity}' intensities"
            f"{focus}, "
            f"{head}{gate}; {start}; then per fold {config.epochs} epochs AdamW (lr {config.lr}), warmup + cosine, "
            f"label smoothing {config.label_smoothing}, augmentation strength {config.augment} (rotation, zoom, "
            f"shift, mirror, gamma, contrast, noise{crops}). The reported model is the last epoch (no epoch is "
            "picked on the test fold) after re-estimating BatchNorm statistics on the clean training images. "
            f"{_decision_note(config)}{_guidance_note(config)}{_texture_note(config)}")


def _texture_note(config: Config) -> str:
    """The LBP texture term blended into P(COVID), when on (texture.py)."""
    if config.texture_weight <= 0:
        return ""
    radii = ", ".join(f"{radius:g}" for radius in config.texture_radii)
    c = (f"C by a 3-fold inner CV grouped by source over {list(config.texture_c)}" if len(config.texture_c) > 1
         else f"C = {config.texture_c[0]:g}")
    return (f" P(COVID) = {1 - config.texture_weight:g} x the CNN's + {config.texture_weight:g} x an LBP texture "
            f"model's (59-bin uniform histograms, P = {config.lbp_points}, R = {radii}, at {config.lbp_size} px, "
            f"over {'the lung fields (lungs.lung_mask)' if config.texture_region == 'lungs' else 'the whole picture'}, "
            f"standardised, logistic regression, {c}, fitted on the training fold only; texture.py), before the "
            "threshold (a deviation: the paper keeps LBP as a separate baseline): texture carries "
            "across sources where the CNN's context cues do not. Grad-CAM, the consistent degree and the lesion "
            "slices' P(COVID) are the CNN term's; the row 'its CNN term alone' scores the same models without it. "
            "The term's 59 weights are stored in each checkpoint (extra.texture_model) and applied by medinterp "
            "evaluate --dataset covid-ct.")


def _decision_note(config: Config) -> str:
    """How a fold's model turns P(COVID) into a call (Config.decision_rule)."""
    if config.decision_rule == "fixed":
        return "A COVID call is P(COVID) >= 0.5."
    return ("A COVID call is P(COVID) >= the fold's threshold, halfway between the mean P(COVID) of its own COVID "
            "and non-COVID training images (clean, after the BatchNorm pass; metrics fold<k>_threshold, stored in "
            "the checkpoint, applied by medinterp evaluate): at 0.5, images of unseen sources were called COVID "
            "too often (sensitivity above specificity on 13 of 15 grouped folds in development).")


def _guidance_note(config: Config) -> str:
    """The lesion-guided training term, when on (lesion_guidance.py)."""
    if config.lesion_weight <= 0:
        return ""
    grown = f" grown by {config.lesion_dilate} px" if config.lesion_dilate else ""
    return (f" Lesion guidance (a deviation: the paper trains on labels only): each batch also holds "
            f"{config.lesion_count} MedSeg dev-half slices (label COVID, randomly moved with their masks) through the "
            f"heatmap loss (training.heatmap_loss.HeatmapLoss: cross-entropy + {config.lesion_weight:g} x the share "
            f"of their Grad-CAM at '{config.cam_layer}' outside the radiologists' lesion mask{grown}); in the "
            f"cross-entropy each lesion slice weighs {config.lesion_ce_weight:g} against 1 for a UCSD image (at 1 "
            "they pull the classifier's prior towards COVID: specificity fell to 0.56 over the 5 folds); the "
            "untouched half is never trained on, and the UCSD images get no map term.")


def _conv5_cells(config: Config) -> int:
    """Side of AlexNet's conv5 map: conv1 (11, stride 4, pad 2), then two 3 x 3 stride-2 max pools."""
    side = (config.alexnet_size + 4 - 11) // 4 + 1
    for _ in range(2):
        side = (side - 3) // 2 + 1
    return side
