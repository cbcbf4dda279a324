"""Causal convolutions that run offline or frame by frame with identical results.

All padding maths lives here. Offline, a causal convolution pads on the left only, so output
step ``t`` depends on input steps ``<= t``. Streaming, the same left context is kept in an explicit
state object from one call to the next: feeding a signal in chunks gives exactly the offline output.

Lengths: every layer expects an input length that is a multiple of its stride (the model pads the
waveform to whole frames), so a strided convolution maps ``L`` steps to ``L / stride`` steps and a
transposed convolution maps ``L`` steps to ``L * stride`` steps.

State objects are plain dataclasses owned by the caller (one per stream), so one module can serve
offline calls and any number of streams at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class ConvState:
    """The last ``context`` input steps seen by a causal convolution (zeros at the start)."""

    history: torch.Tensor  # [batch, in_channels, context]


@dataclass
class ConvTransposeState:
    """Output steps already computed for future positions, to be added to the next chunk."""

    overlap: torch.Tensor  # [batch, out_channels, kernel - stride]


class CausalConv1d(nn.Module):
    """``nn.Conv1d`` with causal (left) padding and a streaming mode.

    With kernel ``k``, stride ``s`` and dilation ``d``, the layer needs ``(k - 1) * d + 1 - s``
    steps of left context so that ``L`` input steps give exactly ``L / s`` outputs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int = 1, dilation: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride,
                              dilation=dilation, groups=groups)
        self.stride = stride
        self.context = (kernel_size - 1) * dilation + 1 - stride
        if self.context < 0:
            raise ValueError("kernel span must be at least the stride")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.context, 0)))

    def init_state(self, batch: int = 1) -> ConvState:
        w = self.conv.weight
        return ConvState(w.new_zeros(batch, self.conv.in_channels, self.context))

    def step(self, x: torch.Tensor, state: ConvState) -> torch.Tensor:
        """Process the next chunk (length a multiple of the stride), updating ``state``."""
        if self.context == 0:
            return self.conv(x)
        full = torch.cat([state.history, x], dim=-1)
        state.history = full[..., -self.context:].clone()  # not a view of full
        return self.conv(full)


class CausalConvTranspose1d(nn.Module):
    """``nn.ConvTranspose1d`` made causal: ``L`` inputs give the first ``L * stride`` outputs.

    The remaining ``kernel - stride`` outputs belong to future positions. Offline they are dropped
    at the end of the signal (the overlapping contributions inside the signal are summed by the
    transposed convolution itself); streaming, they are kept in the state and added to the start of
    the next chunk's output. The bias is added once per position, so it is removed from the carry.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        if not stride <= kernel_size <= 2 * stride:
            # With kernel <= 2 * stride each chunk's carry fits inside the next chunk's output.
            raise ValueError("transposed kernel must be between stride and 2 * stride")
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride)
        self.stride = stride
        self.overlap = kernel_size - stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y[..., : y.shape[-1] - self.overlap]

    def init_state(self, batch: int = 1) -> ConvTransposeState:
        w = self.conv.weight
        return ConvTransposeState(w.new_zeros(batch, self.conv.out_channels, self.overlap))

    def step(self, x: torch.Tensor, state: ConvTransposeState) -> torch.Tensor:
        y = self.conv(x)
        if self.overlap == 0:
            return y
        n = y.shape[-1] - self.overlap
        head = y[..., : self.overlap] + state.overlap
        tail = y[..., n:]
        bias = self.conv.bias
        state.overlap = tail - bias[:, None] if bias is not None else tail
        return torch.cat([head, y[..., self.overlap:n]], dim=-1)
