"""SEANet-style causal encoder and mirrored decoder, built from ``conv.py``.

Every module here has ``forward(x)`` for offline use and ``init_state()`` / ``step(x, state)`` for
streaming, with ``step`` over consecutive chunks equal to ``forward`` over their concatenation.
Stateless layers (activations) take ``None`` as their state.

The compute is kept away from the sample rate: the first stage has few channels and the channel
count doubles at each downsampling, so most multiply-adds happen at 2 kHz and below.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from .conv import CausalConv1d, CausalConvTranspose1d


def init_state(module: nn.Module, batch: int) -> Any:
    return module.init_state(batch) if hasattr(module, "init_state") else None


def step(module: nn.Module, x: torch.Tensor, state: Any) -> torch.Tensor:
    return module.step(x, state) if state is not None else module(x)


class StreamingSequential(nn.Sequential):
    """``nn.Sequential`` whose streaming state is the list of its children's states."""

    def init_state(self, batch: int = 1) -> list:
        return [init_state(m, batch) for m in self]

    def step(self, x: torch.Tensor, state: list) -> torch.Tensor:
        for module, s in zip(self, state):
            x = step(module, x, s)
        return x


class ResidualUnit(nn.Module):
    """``x + conv1x1(act(conv_k_dilated(act(x))))`` with a bottleneck of ``channels // 2``."""

    def __init__(self, channels: int, dilation: int, kernel_size: int = 3):
        super().__init__()
        hidden = channels // 2
        self.block = StreamingSequential(
            nn.ELU(),
            CausalConv1d(channels, hidden, kernel_size, dilation=dilation),
            nn.ELU(),
            CausalConv1d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)

    def init_state(self, batch: int = 1) -> list:
        return self.block.init_state(batch)

    def step(self, x: torch.Tensor, state: list) -> torch.Tensor:
        return x + self.block.step(x, state)


def _check_factors(rest: Sequence[int], kernel_factors: Sequence[int]) -> None:
    if len(kernel_factors) != len(rest) or not all(f in (1, 2) for f in kernel_factors):
        raise ValueError(f"kernel_factors must be {len(rest)} values of 1 or 2, got "
                         f"{tuple(kernel_factors)}")


def _residual_stack(channels: int, dilations: Sequence[int]) -> list[nn.Module]:
    return [ResidualUnit(channels, d) for d in dilations]


class Encoder(StreamingSequential):
    """Waveform ``[B, 1, T]`` -> latents ``[B, dim, T / prod(ratios)]``.

    The first strided convolution cuts the waveform into overlapping patches of ``2 * ratios[0]``
    samples, so no layer runs at the sample rate; each later stage is a stack of residual units
    followed by a strided convolution that doubles the channels, with a kernel of
    ``kernel_factors[i]`` times its stride (2: overlapping windows; 1: disjoint ones, half the
    weights and multiply-adds).
    """

    def __init__(self, channels: int, ratios: Sequence[int], dim: int,
                 dilations: Sequence[int] = (1, 3), kernel_factors: Sequence[int] = (2, 2),
                 bottleneck_units: int = 1):
        first, *rest = ratios
        _check_factors(rest, kernel_factors)
        layers: list[nn.Module] = [CausalConv1d(1, channels, 2 * first, stride=first)]
        c = channels
        for r, f in zip(rest, kernel_factors):
            layers += _residual_stack(c, dilations)
            layers += [nn.ELU(), CausalConv1d(c, 2 * c, f * r, stride=r)]
            c *= 2
        layers += _residual_stack(c, (1,) * bottleneck_units)
        layers += [nn.ELU(), CausalConv1d(c, dim, 3)]
        super().__init__(*layers)
        self.hop = math.prod(ratios)


class Decoder(StreamingSequential):
    """Latents ``[B, dim, F]`` -> waveform ``[B, 1, F * prod(ratios)]``, mirroring ``Encoder``.

    The last layer is a transposed convolution straight to the waveform: a learned overlap-add of
    patches of ``2 * ratios[0]`` samples. No synthesis delay: the transposed convolutions carry
    what belongs to later positions into the next chunk.
    """

    delay = 0

    def __init__(self, channels: int, ratios: Sequence[int], dim: int,
                 dilations: Sequence[int] = (1, 3), kernel_factors: Sequence[int] = (2, 2),
                 bottleneck_units: int = 1):
        first, *rest = ratios
        _check_factors(rest, kernel_factors)
        c = channels * 2 ** len(rest)
        layers: list[nn.Module] = [CausalConv1d(dim, c, 3)]
        layers += _residual_stack(c, (1,) * bottleneck_units)
        for r, f in reversed(list(zip(rest, kernel_factors))):
            layers += [nn.ELU(), CausalConvTranspose1d(c, c // 2, f * r, stride=r)]
            c //= 2
            layers += _residual_stack(c, dilations)
        layers += [nn.ELU(), CausalConvTranspose1d(c, 1, 2 * first, stride=first)]
        super().__init__(*layers)
        self.hop = math.prod(ratios)
