"""What a rodent-gbp checkpoint carries besides the weights, under the key ``"rodent_gbp"``.

``settings``: the input preparation (tissue method, slice size, intensity scale, head seed; a checkpoint
written before ``input_scale`` existed reads "percentile", the scaling it was trained with) and the
GBP / placement constants (a subset of ``Config``) as plain data; ``reference_ids`` and the training animals' maps as
tensors: ``reference_masks`` uint8 (R, S, H, W), ``reference_enhanced`` and ``reference_features``
float16 (the enhanced GBP map, whose product with the mask is the template, and the GBP feature map
for the optical flow). Everything loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from medinterp_widgets.data.errors import DataFormatError

from .config import Config
from .placement import Reference

SETTINGS = ("tissue", "slice_size", "input_scale", "seed", "expand_max", "bump_centre", "bump_width", "smooth_sigma",
            "placement", "reference_animal", "angles", "flow", "flow_iterations")
ARRAYS = ("reference_masks", "reference_enhanced", "reference_features")


STORED_DTYPE = np.float16  # of the enhanced and feature maps in the checkpoint


def as_stored(refs: list[Reference]) -> list[Reference]:
    """The references as the checkpoint keeps them (maps rounded to float16, back as float32): the pipeline
    places its masks with these, so ``evaluate`` reads back exactly the templates the report used."""
    return [Reference(ref.subject_id, ref.mask, ref.enhanced.astype(STORED_DTYPE).astype(np.float32),
                      ref.feature.astype(STORED_DTYPE).astype(np.float32)) for ref in refs]


def gbp_extras(config: Config, refs: list[Reference]) -> dict:
    """The checkpoint extras of a run (see the module docstring)."""
    return {"settings": {name: getattr(config, name) for name in SETTINGS},
            "reference_ids": [ref.subject_id for ref in refs],
            "reference_masks": torch.from_numpy(np.stack([ref.mask for ref in refs]).astype(np.uint8)),
            "reference_enhanced": torch.from_numpy(np.stack([ref.enhanced for ref in refs]).astype(STORED_DTYPE)),
            "reference_features": torch.from_numpy(np.stack([ref.feature for ref in refs]).astype(STORED_DTYPE))}


def read_extras(payload: dict, path: str | Path) -> tuple[Config, list[Reference]]:
    """(Config holding the stored settings, references) of a checkpoint payload; a checkpoint without
    them (not written by the rodent-gbp pipeline) raises DataFormatError naming the field."""
    extras = payload.get("rodent_gbp")
    if not isinstance(extras, dict) or not {"settings", "reference_ids", *ARRAYS} <= set(extras):
        raise DataFormatError(path, "field 'rodent_gbp' (settings and GBP mask templates) missing; expected a "
                                    "checkpoint written by `medinterp reproduce rodent-gbp`")
    settings = {k: v for k, v in extras["settings"].items() if k in {f.name for f in dataclasses.fields(Config)}}
    settings.setdefault("input_scale", "percentile")  # written before the setting existed: trained with that
    for name in ("slice_size", "angles"):
        if settings.get(name) is not None:
            settings[name] = tuple(settings[name])
    arrays = [extras[name] for name in ARRAYS]
    if not all(isinstance(a, torch.Tensor) and a.dim() == 4 and a.shape == arrays[0].shape for a in arrays) \
            or len(extras["reference_ids"]) != arrays[0].shape[0]:
        raise DataFormatError(path, f"field 'rodent_gbp': {', '.join(ARRAYS)} must be (R, S, H, W) tensors of "
                                    "equal shape, one per reference id")
    refs = [Reference(str(name), m.numpy().astype(bool), e.float().numpy(), f.float().numpy())
            for name, m, e, f in zip(extras["reference_ids"], *arrays)]
    return Config(**settings), refs
