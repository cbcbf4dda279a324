"""When things happen in a run: how far it is and when it ends (``Clock``), the learning rate
at a step, and the bitrate each item of a batch is trained at."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch

from .config import TrainConfig


def learning_rate(step: int, cfg: TrainConfig, progress: float | None = None) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 10% of ``lr`` at the end of
    the run (``progress`` 1; by default the fraction of ``steps`` done)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if progress is None:
        progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def bitrate_picks(count: int, bitrates: int, decay: float, gen: torch.Generator) -> torch.Tensor:
    """Quantizer dropout: for each of ``count`` items, the index of its bitrate (lowest first),
    drawn with probability proportional to ``decay ** index``."""
    odds = decay ** torch.arange(bitrates, dtype=torch.float64)
    return torch.multinomial(odds, count, replacement=True, generator=gen)


@dataclass
class Clock:
    """Steps taken and the CPU and wall-clock seconds spent in them (kept in the checkpoint).
    A run ends at ``steps``, or sooner when its time budget (CPU, else wall clock) is spent."""

    cfg: TrainConfig
    step: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0

    def timed(self) -> bool:
        """Whether the run is on a time budget (CPU or wall clock) rather than on ``steps``."""
        return self.cfg.cpu_minutes > 0 or self.cfg.wall_minutes > 0

    def progress(self) -> float:
        """Fraction of the run done: of the CPU budget when one is set, else of the wall-clock
        one, else of ``steps``."""
        if self.cfg.cpu_minutes > 0:
            return self.cpu_s / (60 * self.cfg.cpu_minutes)
        if self.cfg.wall_minutes > 0:
            return self.wall_s / (60 * self.cfg.wall_minutes)
        return self.step / max(1, self.cfg.steps)

    def finished(self) -> bool:
        """``steps`` reached, or the time budget spent when there is one."""
        return self.step >= self.cfg.steps or (self.timed() and self.progress() >= 1.0)

    def learning_rate(self) -> float:
        """The rate of the next step: on the budget's fraction when timed, else on ``steps``."""
        return learning_rate(self.step, self.cfg, self.progress() if self.timed() else None)

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Count the block's time (CPU: ``time.process_time``, every thread of this process);
        a block that raises is not counted."""
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        self.cpu_s += time.process_time() - cpu
        self.wall_s += time.perf_counter() - wall
