"""What a run keeps on disk: ``checkpoint.pt``, to resume from, and ``best/``, the best model so
far in the shipped format.

``checkpoint.pt`` holds plain tensors and numbers (loadable with ``weights_only=True``): the
model and optimizer, the data generator's state, ``step``, ``best``, ``cpu_s`` and ``wall_s``,
with ``average`` (the weight average) and ``disc`` / ``disc_optimizer`` (the adversary) when the
run has them. Older checkpoints without the time counts or the average still load.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from ..model import save_model
from .averaging import WeightAverage
from .recipe import write_recipe

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(trainer) -> None:
    """Write ``trainer``'s (``loop.Trainer``) state to its run directory, atomically."""
    t, tmp = trainer, trainer.run_dir / f"{CHECKPOINT}.tmp"
    state = {"model": t.model.state_dict(), "optimizer": t.opt.state_dict(),
             "generator": t.gen.get_state(), "step": t.clock.step, "best": t.best,
             "cpu_s": t.clock.cpu_s, "wall_s": t.clock.wall_s}
    if t.average is not None:
        state["average"] = t.average.state_dict()
    if t.adversary is not None:
        state.update(t.adversary.state_dict())
    torch.save(state, tmp)
    tmp.replace(t.run_dir / CHECKPOINT)


def resume(trainer) -> None:
    """Load ``trainer``'s state from its run directory's checkpoint, when there is one."""
    t, path = trainer, trainer.run_dir / CHECKPOINT
    if not path.exists():
        return
    state = torch.load(path, map_location=t.device, weights_only=True)
    t.model.load_state_dict(state["model"])
    t.opt.load_state_dict(state["optimizer"])
    if t.adversary is not None and "disc" in state:
        t.adversary.load_state_dict(state)
    if t.average is not None:  # a run that turns the average on starts it here
        if "average" in state:
            t.average.load_state_dict(state["average"])
        else:
            t.average = WeightAverage(t.model, t.cfg.ema)
    t.gen.set_state(state["generator"])
    t.clock.step, t.best = int(state["step"]), float(state["best"])
    t.clock.cpu_s = float(state.get("cpu_s", 0.0))
    t.clock.wall_s = float(state.get("wall_s", 0.0))


def export_model(trainer, directory: Path, scores: dict[str, float], weights: str) -> None:
    """The shipped format: weights, config (with the run's settings and ``scores``) and the
    runtime's graphs, and the recipe (``recipe.py``). ``weights`` says which were exported: the
    last step's or their moving average."""
    t = trainer
    save_model(t.model.cpu().eval(), directory, graphs=True, extra={
        "training": {**asdict(t.cfg), "step": t.clock.step, "weights": weights,
                     "cpu_minutes_spent": round(t.clock.cpu_s / 60, 2),
                     **{k.split("/", 1)[1]: round(v, 4) for k, v in scores.items()},
                     "train_hours": round(t.train.hours, 3)}})
    write_recipe(t.cfg, directory)
    t.model.to(t.device)
