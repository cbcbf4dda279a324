"""A model's training recipe: the ``TrainConfig`` fields (``scripts/train.py`` flags, ``-`` for
``_``) it was trained with that differ from their defaults, in ``recipe.json`` beside its
``config.json``. The trainer writes it with every export of ``best/``; ``scripts/train.py``
takes its defaults from the shipped model's (``codec/weights/recipe.json``).

How long a run is, how often it logs and evaluates, and its seed belong to the run, not to the
recipe: they are left out.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from ..runtime.store import RECIPE_FILE
from .config import TrainConfig

RUN_FIELDS = ("steps", "cpu_minutes", "wall_minutes", "log_every", "eval_every", "valid_items",
              "seed")


def recipe_of(cfg: TrainConfig) -> dict:
    """The fields of ``cfg`` that differ from ``TrainConfig``'s defaults, run fields left out."""
    default = TrainConfig()
    return {f.name: getattr(cfg, f.name) for f in fields(TrainConfig)
            if f.name not in RUN_FIELDS and getattr(cfg, f.name) != getattr(default, f.name)}


def write_recipe(cfg: TrainConfig, directory: Path) -> None:
    (Path(directory) / RECIPE_FILE).write_text(json.dumps(recipe_of(cfg), indent=2) + "\n")


def read_recipe(path: Path) -> dict:
    """The ``TrainConfig`` values of a recipe file, typed as the fields are; ``ValueError``
    naming the file and the entry that is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the recipe {path}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"recipe {path} is not a JSON object")
    kinds = {f.name: type(f.default) for f in fields(TrainConfig)}
    out = {}
    for name, value in data.items():
        kind = kinds.get(name)
        if kind is tuple and isinstance(value, list) and all(type(v) is int for v in value):
            out[name] = tuple(value)
        elif kind is float and type(value) in (int, float):
            out[name] = float(value)
        elif kind is not None and kind is not tuple and type(value) is kind:
            out[name] = value
        else:
            raise ValueError(f"recipe {path}: {name}={value!r} is not a value of a "
                             "scripts/train.py flag")
    return out
