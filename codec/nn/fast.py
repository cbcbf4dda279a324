"""A per-frame inference path: the same layers as a few matrix products on time-major tensors.

``torch.nn.functional.conv1d`` costs tens of microseconds per call on tiny inputs, which would
dominate a 20 ms frame. Here each causal convolution becomes one ``addmm`` over an im2col view
of ``[time, channels]`` data, with weights re-laid out once, when the runner is built. The
arithmetic is the one of ``conv.py``: tests check both against the offline pass.

Runners are built from a trained module (``compile_stream``) and share its weights read-only;
each stream keeps its own state (``init_state``), so one runner serves any number of streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .conv import CausalConv1d, CausalConvTranspose1d, ConvState, ConvTransposeState
from .seanet import ResidualUnit, StreamingSequential


class FastConv:
    def __init__(self, m: CausalConv1d):
        w = m.conv.weight.detach()  # [out, in, k]
        self.k, self.stride, self.dilation = w.shape[2], m.stride, m.conv.dilation[0]
        self.cin, self.context = w.shape[1], m.context
        # im2col rows are [tap, channel], so the weight is laid out [k * in, out]
        self.weight = w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous()
        self.bias = m.conv.bias.detach().clone()

    def init_state(self) -> ConvState:
        return ConvState(torch.zeros(self.context, self.cin))

    def step(self, x: torch.Tensor, state: ConvState) -> torch.Tensor:  # x: [L, in]
        if self.k == 1:
            return torch.addmm(self.bias, x, self.weight)
        full = torch.cat([state.history, x]) if self.context else x
        if self.context:
            state.history = full[len(full) - self.context:]
        n_out = (len(full) - (self.k - 1) * self.dilation - 1) // self.stride + 1
        cols = full.as_strided((n_out, self.k, self.cin),
                               (self.stride * self.cin, self.dilation * self.cin, 1))
        return torch.addmm(self.bias, cols.reshape(n_out, -1), self.weight)


class FastConvTranspose:
    def __init__(self, m: CausalConvTranspose1d):
        w = m.conv.weight.detach()  # [in, out, k]
        self.cin, self.cout, self.k = w.shape
        self.stride, self.overlap = m.stride, m.overlap
        self.weight = w.permute(0, 2, 1).reshape(self.cin, -1).contiguous()  # [in, k * out]
        self.bias = m.conv.bias.detach().clone()

    def init_state(self) -> ConvTransposeState:
        return ConvTransposeState(torch.zeros(self.overlap, self.cout))

    def step(self, x: torch.Tensor, state: ConvTransposeState) -> torch.Tensor:  # [L, in]
        n, s = len(x), self.stride
        y = torch.mm(x, self.weight).view(n, self.k, self.cout)
        if self.overlap == 0:
            return y.reshape(n * s, self.cout) + self.bias
        # kernel = stride + overlap with overlap <= stride: output block i is the first s taps
        # of input i plus the last taps of input i - 1 (the carry, for i = 0).
        head, tail = y[:, :s], y[:, s:]
        if n == 1:
            out = head[0] + self.bias
            out[: self.overlap] += state.overlap
        else:
            prev = torch.cat([state.overlap[None], tail[:-1]])
            out = (head + F.pad(prev, (0, 0, 0, s - self.overlap))).reshape(n * s, self.cout)
            out = out + self.bias
        state.overlap = tail[-1]
        return out


class FastResidual:
    def __init__(self, m: ResidualUnit):
        self.block = FastSequential(m.block)

    def init_state(self) -> list:
        return self.block.init_state()

    def step(self, x: torch.Tensor, state: list) -> torch.Tensor:
        return x + self.block.step(x, state)


class FastELU:
    def __init__(self, m: nn.ELU):
        self.alpha = m.alpha

    def init_state(self) -> None:
        return None

    def step(self, x: torch.Tensor, state: None) -> torch.Tensor:
        return F.elu(x, self.alpha)


class FastSequential:
    def __init__(self, m: StreamingSequential):
        self.layers = [compile_layer(child) for child in m]

    def init_state(self) -> list:
        return [layer.init_state() for layer in self.layers]

    def step(self, x: torch.Tensor, state: list) -> torch.Tensor:
        for layer, s in zip(self.layers, state):
            x = layer.step(x, s)
        return x


_CONVERTERS = {CausalConv1d: FastConv, CausalConvTranspose1d: FastConvTranspose,
               ResidualUnit: FastResidual, nn.ELU: FastELU}


def compile_layer(m: nn.Module) -> Any:
    if isinstance(m, StreamingSequential):
        return FastSequential(m)
    for kind, fast in _CONVERTERS.items():
        if isinstance(m, kind):
            return fast(m)
    raise TypeError(f"no per-frame implementation for {type(m).__name__}")


def compile_stream(m: StreamingSequential) -> FastSequential:
    """A per-frame runner for an encoder or decoder; tensors are ``[time, channels]``."""
    with torch.no_grad():
        return FastSequential(m)


class FastQuantizer:
    """Residual VQ for one frame, in numpy: a 64 x 1024 product and an argmin per level cost
    half of what they cost through torch's dispatcher at this size. Same nearest-code rule as
    ``VectorQuantizer.nearest`` (|c|^2 - 2 x.c), so codes differ only at float near-ties."""

    def __init__(self, rvq: nn.Module):
        books = torch.stack([lvl.codebook.detach() for lvl in rvq.levels]).numpy()  # [K, N, D]
        self.books = np.ascontiguousarray(books, np.float32)
        self.books_t = np.ascontiguousarray(books.transpose(0, 2, 1) * -2.0)  # [K, D, N]
        self.norms = np.ascontiguousarray((books * books).sum(-1))            # [K, N]
        self.size = books.shape[1]
        self.table = self.books.reshape(-1, books.shape[2])                   # [K * N, D]
        self.offsets = np.arange(len(books))[:, None] * self.size

    def encode(self, z: np.ndarray, num_codebooks: int) -> np.ndarray:
        """``[L, D]`` float32 -> codes ``[K, L]``."""
        codes = np.empty((num_codebooks, len(z)), np.int64)
        residual = z
        for i in range(num_codebooks):
            scores = residual @ self.books_t[i]
            scores += self.norms[i]
            idx = scores.argmin(-1)
            residual = residual - self.books[i][idx]
            codes[i] = idx
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes ``[K, L]`` -> latents ``[L, D]`` in one gather and one sum."""
        return self.table[codes + self.offsets[: len(codes)]].sum(0)
