"""The report's method notes: what was run, how it differs from the thesis, and why."""

from __future__ import annotations


def method_notes(results, rows: list[dict]) -> list[str]:
    config = results.config
    notes = [
        f"Preset {config.preset!r}, seed {config.seed}. Synthetic groups: {config.models_per_group} models trained "
        f"per thesis group (ce, hirescam), more until {config.min_kept} pass the bar (at most {config.max_models}); "
        f"{config.secondary_models} models per other group. Per model an Optuna study of {config.sweep_trials} "
        f"learning rate(s) in [{config.lr_low:g}, {config.lr_high:g}] (log; same initial weights and data order, "
        f"Adam), {config.epochs} epochs of {config.n_train} images ({config.size} x {config.size} px), the best "
        f"epoch by validation accuracy ({config.n_val} images); a model is kept when that accuracy exceeds "
        f"{config.val_accuracy_bar:.0%} (the thesis's bar). Test split: {config.n_test} images. Runs (checkpoints, "
        f"Optuna sweep.db) under {results.run_root}.",
        "Losses: 'ce' = conventional training, the classification term alone "
        f"({config.baseline_classification.upper()} on the softmax, the thesis's classification term; the group "
        "keeps the name ce of the issue's keys); "
        f"'hirescam' / 'gradcam' = the thesis's heatmap loss, MSE(softmax, one-hot) + {config.heatmap_weight:g} x "
        "mean over pixels of the map scaled to a maximum of 1 outside the heart; '-norm' = the normalised variant, "
        f"cross-entropy + {config.norm_weight:g} x (1 - share of the map inside the heart). Maps of the true class "
        "at the last conv layer's ReLU, differentiable (double backward).",
        f"Model: VGG-style, cfg {config.cfg!r} x width {config.width} with BatchNorm, FC head (pool {config.fc_pool} x "
        f"{config.fc_pool} -> FC{config.hidden} -> FC(classes)); the thesis uses VGG16 with FC100 -> FC4 at full "
        "resolution. Deviation for the CPU budget (the --full preset uses VGG16 at 128 px with FC100); the smaller "
        "network reaches the thesis's > 95 % accuracy on this generator.",
        f"Overlaps: {config.eval_method} maps of the true class on the test split (metrics.heatmap_overlap: share "
        "of positive attribution inside the mask), mean per model over images; the sex-marker overlap on male "
        "images of experiment 2 only. Statistics (thesis section on results): Shapiro-Wilk per group, Welch's "
        "t-test if both p > 0.05 else Mann-Whitney U, two-sided; Cohen's d raw and after removing values outside "
        "Q1 - k IQR .. Q3 + k IQR (k = 1.5, 5) per group; CL = P(ce > heatmap). Thesis convention: ce first.",
        "Generator (thesis section 3.1.1): classes normal, HCM, DCM, ARV (dilated / fatty subtypes, RV-wall fat "
        "share drawn per image); male-to-female ratios ARV 2.7, HCM 1.3, others 1; body fat male 26 +/- 7.9 %, "
        "female 35 +/- 8.5 % (the female value is our choice: not in the sources we could read), +10 % for "
        "DCM; experiment 1: males 1.3x larger; experiment 2: same size, a bright marker at the bottom of every "
        "male image.",
        "The thesis's numbers beside ours are those quoted in issue 13 (p ~ 1e-9 / 1e-8 / 1e-7 are orders of "
        "magnitude; d -10.78, -11.88 for the heart overlaps, 1.84 / 1.25 for the sex-marker overlap after the "
        "1.5 / 5 IQR filters -- our reading of the pair; CL 0.0, 0.0, 0.95; Shapiro p 0.49 and 0.008 in "
        "experiment 2, read as the ce and heatmap groups' sex-marker overlaps). The thesis gives no group means.",
    ]
    if results.acdc:
        difference = " plus their difference ED - ES" if config.acdc_difference else ""
        notes.append(
            f"ACDC: normal (NOR) vs diseased (DCM, HCM, MINF, RV) per patient, as the thesis. Input: ED and ES "
            f"slice at the same level as two channels{difference}"
            f" (centre crop {config.acdc_crop} px -> {config.acdc_size} px, z-score per frame), patient = "
            f"{'mean softmax' if config.acdc_aggregate == 'softmax' else 'sigmoid of the mean log-odds'} over its "
            f"slices. {config.acdc_repeats} x {config.acdc_folds}"
            f"-fold cross-validation over the {len(results.acdc_diagnoses)} training patients used (stratified by "
            "diagnosis; a preset's patient limit takes them evenly spaced over the patient numbers) gives the "
            "out-of-fold balanced accuracy; a final classifier trained on all of them is saved (evaluate: "
            "acdc-diagnosis) and scored on the 10 shared validation volumes (only one of them NOR: its balanced "
            "accuracy is coarse). "
            f"Class weights n / (2 n_c), random affine + contrast augmentation, {config.acdc_epochs} epochs; the "
            f"classification term of both classifiers: "
            f"{(config.acdc_classification or config.baseline_classification).upper()} (the heatmap loss adds the "
            "thesis's mass penalty to it).")
        contrast = config.acdc_heatmap_target == "contrast"
        explained = "log-odds of the true class (logit minus the other logit)" if contrast else "true class's logit"
        notes.append(
            f"ACDC heart overlap (acdc_heart_*): mean over the heart slices whose HiResCAM map of the {explained} is "
            "not all zero; acdc_heart_empty_* is the share of all-zero maps. The thesis's mass penalty scores an "
            "all-zero map 0, so a heatmap-loss classifier can meet it by pushing its map below zero: a high empty "
            "share means the overlap describes only the remaining slices."
            + (" ACDC deviation (the maps explain the log-odds, in the loss and in the overlap): with maps of the "
               "class logit alone the classifier met the mass penalty by lowering the other logit, 97-100 % of its "
               "maps all zero (nested check: 42-50 % with the log-odds, and its ensemble AUC 0.79 instead of 0.71)."
               if contrast else ""))
        if config.acdc_ensemble:
            notes.append(
                f"ACDC test-time ensemble: P(diseased) of the validation volumes (and of evaluate) is the mean of the "
                f"{config.acdc_repeats * config.acdc_folds} cross-validation fold models (fold-*.pt beside final.pt), "
                "thresholded at the out-of-fold midpoint; the final model gives the maps.")
        if config.acdc_seg_weight > 0:
            notes.append(
                f"ACDC deviation (multi-task training): while training, every classifier also predicts the ED and "
                f"ES label maps (RV, myocardium, LV cavity) from its conv features (1x1 conv heads, loss weight "
                f"{config.acdc_seg_weight}), so the 13 normal hearts do not have to teach the anatomy from one label "
                "bit; the head is dropped afterwards and the saved classifier sees images only.")
        if config.acdc_function_weight > 0:
            w = config.acdc_function_weight
            notes.append(
                f"ACDC deviation (cardiac-function term, not in the thesis): P(diseased) = {1 - w:g} x the CNN's + "
                f"{w:g} x a quadratic logistic regression on five indices of a U-Net's ED / ES masks (LV and RV "
                "ejection fraction, myocardium / LV at ED and ES, RV / LV at ED; pixel counts over all slices, so "
                "spacing cancels). The ACDC diagnoses are defined by these quantities, which the 2-D CNN of a few "
                f"mid-ventricular slices learns poorly from 70 patients. The U-Net (base {config.acdc_function_width}"
                f", {config.acdc_function_epochs} epochs) sees images only at test time (segmenter.pt beside "
                f"final.pt); the regression is fitted on out-of-fold masks ({config.acdc_function_folds} folds) and, "
                "inside the cross-validation, on the training folds only. The rows 'its CNN term alone' and 'the "
                "cardiac-function term alone' score each part on the same folds; HiResCAM and the heart overlap "
                "explain the CNN term.")
            dice = next((r.function_dice for r in results.acdc.values() if r.function_dice), [])
            weak = [name for name, value in zip(("RV", "myocardium", "LV cavity"), dice) if not value >= 0.6]
            if weak:
                notes.append(f"ACDC warning: the function term's out-of-fold segmentation Dice is below 0.6 for "
                             f"{', '.join(weak)} ({', '.join(f'{d:.2f}' for d in dice)}); its indices are unreliable.")
    return notes
