"""An exponential moving average of a model's parameters (Polyak averaging).

Small batches on a CPU give noisy steps; the average of the last ~``1 / (1 - decay)`` steps'
weights is often a better model than the last step's. The trainer scores both on the held-out
crops and exports whichever is better, so the average is kept only where it measures better.

Only parameters are averaged. Buffers (the quantizer's codebooks and their statistics) stay the
training model's own: they follow the encoder by their own moving averages.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


class WeightAverage:
    """``average <- decay * average + (1 - decay) * weights`` after every optimizer step."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.average = {n: p.detach().clone() for n, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            self.average[name].lerp_(p.detach(), 1.0 - self.decay)

    @contextmanager
    def swapped_in(self, model: nn.Module) -> Iterator[nn.Module]:
        """``model`` holds the averaged weights inside the block, its own ones again after it."""
        params = dict(model.named_parameters())
        own = {n: p.detach().clone() for n, p in params.items()}
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(self.average[n])
        try:
            yield model
        finally:
            with torch.no_grad():
                for n, p in params.items():
                    p.copy_(own[n])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.average)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.average) - set(state)
        if missing:
            raise KeyError(f"weight average lacks {sorted(missing)[:3]}")
        for n, t in self.average.items():
            t.copy_(state[n])
