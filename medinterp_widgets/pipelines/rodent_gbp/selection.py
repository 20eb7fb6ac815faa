"""Choosing settings without the held-out animal: train on some training animals, score one other.

``select_on_animal(config, chosen=5)`` trains the U-Net on the training animals other than ``chosen``
(80/20 of their slices, best epoch by validation Dice as in the paper) and scores WM / GM / CSF over
``chosen``'s whole volume with its true brain mask (the skull-stripped image). ``config.test_animals``
are never loaded into training or scoring. Command line (one JSON object of Config overrides):

    python -m medinterp_widgets.pipelines.rodent_gbp.selection '{"epochs": 25, "lr_drop_epoch": 19}'
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from .config import Config
from .data import training_slices
from .measures import tissue_measures
from .pipeline import load_data
from .steps import segment


def select_on_animal(config: Config, chosen: int = 5, device: str = "cpu") -> dict:
    """{"chosen", "best_epoch", "val" (validation Dice of the best epoch), "dsc", "sensitivity", "precision"
    (WM / GM / CSF of animal ``chosen``, 1-based, true mask), "cpu_s"}."""
    from .training import train_unet  # the Trainer stack only when training

    if chosen in config.test_animals:
        raise ValueError(f"select_on_animal: animal {chosen} is in Config.test_animals {config.test_animals}")
    cpu = time.process_time()
    animals, _ = load_data(config)
    if not 1 <= chosen <= len(animals):
        raise ValueError(f"select_on_animal: animal {chosen} not among the {len(animals)} animals")
    held = set(config.test_animals) | {chosen}
    train_animals = [a for number, a in enumerate(animals, 1) if number not in held]
    train, val = training_slices(train_animals, config.min_brain_fraction, config.val_fraction, config.seed,
                                 config.slice_step, config.input_channels)
    with tempfile.TemporaryDirectory() as folder:
        model, history = train_unet(config, train, val, Path(folder), torch.device(device))
    best = max(range(len(history)), key=lambda i: history[i].get("val", {}).get("dice_mean", -1.0))
    animal = animals[chosen - 1]
    measures = tissue_measures(segment(model, animal.image, device), animal.tissue)
    out = {"chosen": chosen, "best_epoch": best + 1,
           "val": {k: v for k, v in history[best].get("val", {}).items() if k.startswith("dice")}}
    for key, name in (("dsc", "DSC"), ("sensitivity", "sensitivity"), ("precision", "precision")):
        out[key] = {tissue: values[name] for tissue, values in measures.items()}
    return {**out, "cpu_s": time.process_time() - cpu}


def main(argv: list[str] | None = None) -> None:
    """``python -m ...selection '<overrides JSON>' [animal]``: the --paper preset with the overrides, real data
    from $MEDINTERP_DATA (synthetic phantoms without it), one torch thread; prints one JSON line."""
    import os

    args = sys.argv[1:] if argv is None else argv
    overrides = json.loads(args[0]) if args else {}
    torch.set_num_threads(1)
    config = Config.from_preset("paper", data_root=os.environ.get("MEDINTERP_DATA"), **overrides)
    print(json.dumps({"overrides": overrides, **select_on_animal(config, int(args[1]) if len(args) > 1 else 5)}))


if __name__ == "__main__":
    main()
