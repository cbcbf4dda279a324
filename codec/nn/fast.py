"""A per-frame inference path: the same layers as a few matrix products on time-major tensors.

``torch.nn.functional.conv1d`` costs tens of microseconds per call on tiny inputs, which would
dominate a 20 ms frame. Here each causal convolution becomes one ``addmm`` over an im2col view
of ``[time, channels]`` data, with weights re-laid out once, and the whole stack is compiled with
TorchScript (frozen), which removes most of the per-operation Python overhead. The arithmetic is
the one of ``conv.py``: tests check both against the offline pass.

State is explicit: ``FastStack.init_state()`` returns a list with one tensor per stateful layer
(a convolution's input history, a transposed convolution's carried overlap), and ``step(x,
state)`` updates that list. Runners copy the weights when built, so they serve any number of
streams without touching the model.
"""

from typing import Any, List, Tuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .conv import CausalConv1d, CausalConvTranspose1d
from .seanet import ResidualUnit, StreamingSequential
from .weights_cache import cached


class FastConv(nn.Module):
    def __init__(self, m: CausalConv1d, slot: int):
        super().__init__()
        w = m.conv.weight.detach()  # [out, in, k]
        self.k, self.stride, self.dilation = w.shape[2], m.stride, m.conv.dilation[0]
        self.cin, self.context, self.slot = w.shape[1], m.context, slot
        # im2col rows are [tap, channel], so the weight is laid out [k * in, out]
        self.register_buffer("weight", w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous())
        self.register_buffer("bias", m.conv.bias.detach().clone())

    def initial(self) -> Tensor:
        return torch.zeros(self.context, self.cin)

    def forward(self, x: Tensor, state: List[Tensor]) -> Tensor:  # x: [L, in]
        if self.k == 1:
            return torch.addmm(self.bias, x, self.weight)
        full = torch.cat([state[self.slot], x]) if self.context > 0 else x
        if self.context > 0:
            state[self.slot] = full[full.shape[0] - self.context:]
        n_out = (full.shape[0] - (self.k - 1) * self.dilation - 1) // self.stride + 1
        cols = full.as_strided([n_out, self.k, self.cin],
                               [self.stride * self.cin, self.dilation * self.cin, 1])
        return torch.addmm(self.bias, cols.reshape(n_out, -1), self.weight)


class FastConvTranspose(nn.Module):
    def __init__(self, m: CausalConvTranspose1d, slot: int):
        super().__init__()
        w = m.conv.weight.detach()  # [in, out, k]
        self.cin, self.cout, self.k = w.shape
        self.stride, self.overlap, self.slot = m.stride, m.overlap, slot
        self.register_buffer("weight", w.permute(0, 2, 1).reshape(self.cin, -1).contiguous())
        self.register_buffer("bias", m.conv.bias.detach().clone())

    def initial(self) -> Tensor:
        return torch.zeros(self.overlap, self.cout)

    def forward(self, x: Tensor, state: List[Tensor]) -> Tensor:  # x: [L, in]
        n, s = x.shape[0], self.stride
        y = torch.mm(x, self.weight).view(n, self.k, self.cout)
        if self.overlap == 0:
            return y.reshape(n * s, self.cout) + self.bias
        # kernel = stride + overlap with overlap <= stride: output block i is the first s taps
        # of input i plus the last taps of input i - 1 (the carry, for i = 0).
        head, tail = y[:, :s], y[:, s:]
        prev = torch.cat([state[self.slot].unsqueeze(0), tail[:-1]])
        out = (head + F.pad(prev, [0, 0, 0, s - self.overlap])).reshape(n * s, self.cout)
        state[self.slot] = tail[-1]
        return out + self.bias


class FastELU(nn.Module):
    def __init__(self, m: nn.ELU):
        super().__init__()
        self.alpha = float(m.alpha)

    def forward(self, x: Tensor, state: List[Tensor]) -> Tensor:
        return F.elu(x, self.alpha)


class FastSequential(nn.Module):
    def __init__(self, layers: List[nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor, state: List[Tensor]) -> Tensor:
        for layer in self.layers:
            x = layer(x, state)
        return x


class _Returning(nn.Module):
    """Returns the state list: a scripted call receives a copy of a Python list."""

    def __init__(self, stack: FastSequential):
        super().__init__()
        self.stack = stack

    def forward(self, x: Tensor, state: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        return self.stack(x, state), state


class FastResidual(nn.Module):
    def __init__(self, block: FastSequential):
        super().__init__()
        self.block = block

    def forward(self, x: Tensor, state: List[Tensor]) -> Tensor:
        return x + self.block(x, state)


def _convert(m: nn.Module, stateful: list) -> nn.Module:
    """The fast twin of ``m``; stateful layers are appended to ``stateful`` (their slot)."""
    if isinstance(m, StreamingSequential):
        return FastSequential([_convert(child, stateful) for child in m])
    if isinstance(m, ResidualUnit):
        return FastResidual(_convert(m.block, stateful))
    if isinstance(m, nn.ELU):
        return FastELU(m)
    for kind, fast in ((CausalConv1d, FastConv), (CausalConvTranspose1d, FastConvTranspose)):
        if isinstance(m, kind):
            layer = fast(m, len(stateful))
            if (layer.context if kind is CausalConv1d else layer.overlap) > 0:
                stateful.append(layer)
            return layer
    raise TypeError(f"no per-frame implementation for {type(m).__name__}")


class FastStack:
    """A compiled per-frame runner for an encoder or decoder; tensors are ``[time, channels]``."""

    def __init__(self, module: StreamingSequential, script: bool = True):
        stateful: list = []
        with torch.no_grad():
            fast = _convert(module, stateful).eval()
        self._initial = [layer.initial() for layer in stateful]
        fast = _Returning(fast).eval()
        self._run: Any = torch.jit.freeze(torch.jit.script(fast)) if script else fast

    def init_state(self) -> List[Tensor]:
        return [t.clone() for t in self._initial]

    def step(self, x: Tensor, state: List[Tensor]) -> Tensor:
        """Run one chunk, updating ``state`` (the list from ``init_state``) in place."""
        y, state[:] = self._run(x, state)
        return y


def compile_stream(module: StreamingSequential, script: bool = True) -> FastStack:
    """The per-frame runner of an encoder or decoder (TorchScript compilation takes a fraction
    of a second, so it is built once per module and weights)."""
    return cached(module, ("torchscript", script), lambda: FastStack(module, script))


def compile_quantizer(rvq: nn.Module) -> "FastQuantizer":
    """The per-frame residual VQ of ``rvq`` (its codebooks re-laid out once per weights)."""
    return cached(rvq, "numpy-rvq", lambda: FastQuantizer(rvq))


class FastQuantizer:
    """Residual VQ for one frame, in numpy: per level a product with the codebook (after the
    projection into the level's subspace, if any) and an argmin, which cost about half of what
    they cost through torch's dispatcher at this size. Same nearest-code rule as
    ``VectorQuantizer.nearest`` (|c|^2 - 2 x.c), so codes differ only at float near-ties."""

    def __init__(self, rvq: nn.Module):
        levels = rvq.levels
        books = torch.stack([lvl.codebook.detach() for lvl in levels]).numpy()  # [K, N, d]
        self.books_t = np.ascontiguousarray(books.transpose(0, 2, 1) * -2.0)     # [K, d, N]
        self.norms = np.ascontiguousarray((books * books).sum(-1))                # [K, N]
        self.projections = [lvl.projection.detach().numpy() if lvl.projected else None
                            for lvl in levels]                                    # [dim, d]
        latent = torch.stack([lvl.latent_codebook().detach() for lvl in levels]).numpy()
        self.latent = np.ascontiguousarray(latent, np.float32)                    # [K, N, dim]
        self.size = books.shape[1]
        self.table = self.latent.reshape(-1, latent.shape[2])                     # [K * N, dim]
        self.offsets = np.arange(len(books))[:, None] * self.size

    def encode(self, z: np.ndarray, num_codebooks: int) -> np.ndarray:
        """``[L, dim]`` float32 -> codes ``[K, L]``."""
        codes = np.empty((num_codebooks, len(z)), np.int64)
        residual = z
        for i in range(num_codebooks):
            p = self.projections[i]
            scores = (residual if p is None else residual @ p) @ self.books_t[i]
            scores += self.norms[i]
            idx = scores.argmin(-1)
            residual = residual - self.latent[i][idx]
            codes[i] = idx
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes ``[K, L]`` -> latents ``[L, dim]`` in one gather and one sum."""
        return self.table[codes + self.offsets[: len(codes)]].sum(0)


class TorchFrameEncoder:
    """One frame of float32 samples -> its ``K`` codes: the TorchScript runner, numpy VQ."""

    def __init__(self, model: nn.Module):
        self._encoder = compile_stream(model.encoder)
        self._quantizer = compile_quantizer(model.quantizer)
        self._state = self._encoder.init_state()

    def prepare(self, num_codebooks: int) -> None:
        """Nothing to build: one runner serves every number of codebooks."""

    @torch.inference_mode()
    def codes(self, frame: np.ndarray, num_codebooks: int) -> np.ndarray:
        z = self._encoder.step(torch.from_numpy(frame).view(-1, 1), self._state).numpy()
        return self._quantizer.encode(z, num_codebooks)[:, 0]


class TorchFrameDecoder:
    """``K`` codes -> one frame of float32 samples: numpy lookup, the TorchScript runner."""

    def __init__(self, model: nn.Module):
        self._decoder = compile_stream(model.decoder)
        self._quantizer = compile_quantizer(model.quantizer)
        self._state = self._decoder.init_state()

    @torch.inference_mode()
    def samples(self, codes: np.ndarray) -> np.ndarray:
        z = torch.from_numpy(self._quantizer.decode(codes[:, None]))
        return self._decoder.step(z, self._state)[:, 0].numpy()
