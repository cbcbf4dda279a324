#!/usr/bin/env python3
"""Average the weights of saved models of one architecture into a new saved model (a "model
soup": Wortsman et al. 2022). It fits models fine-tuned from the same weights, such as two arms
of a training round that both started from the shipped checkpoint; models trained apart have
no reason to average into anything useful. Score the result like any candidate
(``scripts/compare_models.py``) before shipping it.

    python scripts/average_models.py runs6/round3/best runs6/lr15/best --out runs6/soup

Every floating-point weight and buffer is the plain mean; integer buffers must agree. The
output carries the graphs and, where the first input has one, its ``recipe.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from codec.model import load_model, save_model
from codec.runtime.store import RECIPE_FILE


def average_state(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of float tensors; other tensors must be equal in every state."""
    first = states[0]
    if any(s.keys() != first.keys() for s in states):
        raise ValueError("the models have different parameters")
    out = {}
    for key, value in first.items():
        if value.is_floating_point():
            out[key] = torch.stack([s[key] for s in states]).mean(0)
        elif all(torch.equal(s[key], value) for s in states):
            out[key] = value.clone()
        else:
            raise ValueError(f"integer buffer {key} differs between the models")
    return out


def average_models(directories: list[Path], out: Path) -> bytes:
    """Write the average of the saved models in ``directories`` to ``out``; its model id."""
    models = [load_model(d) for d in directories]
    if any(m.config != models[0].config for m in models):
        raise ValueError("the models have different architectures")
    model = models[0]
    model.load_state_dict(average_state([m.state_dict() for m in models]))  # save_model leaves
    # out the codebooks' training statistics; load_model rebuilds them from the codebooks
    sources = [{"folder": str(d), "model_id": m.model_id.hex()} for d, m in zip(directories, models)]
    model_id = save_model(model.eval(), out, graphs=True, extra={"averaged_from": sources})
    if (directories[0] / RECIPE_FILE).exists():
        shutil.copyfile(directories[0] / RECIPE_FILE, out / RECIPE_FILE)
    return model_id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", type=Path, help="saved model folders (at least two)")
    p.add_argument("--out", type=Path, required=True, help="folder for the averaged model")
    args = p.parse_args(argv)
    if len(args.models) < 2:
        p.error("give at least two models")
    try:
        model_id = average_models(args.models, args.out)
    except ValueError as e:  # FormatError is a ValueError
        print(f"average_models: {e}", file=sys.stderr)
        return 1
    print(f"{args.out}: model {model_id.hex()}, the mean of {len(args.models)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
