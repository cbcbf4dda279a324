#!/usr/bin/env python3
"""Export a run's ``checkpoint.pt`` as a saved model (weights, config, graphs, recipe): the weights
of its last step or their moving average. ``best/`` holds only the best model on held-out crops;
this gives the end of a schedule (or any point a run was stopped at) to score on whole
utterances like any candidate (``scripts/compare_models.py``).

    python scripts/export_checkpoint.py runs7/round4 --weights average --out runs7/round4-end

The architecture and the run's settings come from the run's ``best/config.json`` (every run
writes ``best/`` at its first evaluation); the step and CPU-minutes are the checkpoint's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import fields
from pathlib import Path

import torch

from codec.model import load_model, save_model
from codec.runtime.store import RECIPE_FILE, read_meta
from codec.train.checkpoint import CHECKPOINT
from codec.train.config import TrainConfig


def export_checkpoint(run_dir: Path, weights: str, out: Path) -> bytes:
    """Write ``run_dir``'s checkpoint (``weights``: "last" or "average") to ``out``; its model id."""
    best = run_dir / "best"
    model = load_model(best)  # the run's architecture
    state = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])  # parameters and the codebooks' buffers
    if weights == "average":
        if "average" not in state:
            raise ValueError(f"{run_dir / CHECKPOINT} has no weight average")
        model.load_state_dict(state["average"], strict=False)  # parameters only
    settings = {f.name for f in fields(TrainConfig)} | {"train_hours"}  # not best/'s scores
    training = {k: v for k, v in read_meta(best).get("training", {}).items() if k in settings}
    training.update(step=int(state["step"]), weights=weights,
                    cpu_minutes_spent=round(float(state.get("cpu_s", 0.0)) / 60, 2))
    model_id = save_model(model.eval(), out, graphs=True, extra={"training": training})
    if (best / RECIPE_FILE).exists():
        shutil.copyfile(best / RECIPE_FILE, out / RECIPE_FILE)
    return model_id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path, help="a run directory of scripts/train.py")
    p.add_argument("--weights", choices=("average", "last"), default="average",
                   help="the moving average of the weights (default) or the last step's")
    p.add_argument("--out", type=Path, required=True, help="folder for the saved model")
    args = p.parse_args(argv)
    try:
        model_id = export_checkpoint(args.run_dir, args.weights, args.out)
    except (OSError, KeyError, ValueError) as e:  # FormatError is a ValueError
        print(f"export_checkpoint: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: model {model_id.hex()}, the {args.weights} weights of {args.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
