"""Linear layers with 8-bit weights, for the runtime's one-frame-at-a-time path.

One frame at a time, a float32 layer's cost is reading its weights: a 256 x 512 layer is 512 KB,
read once per 20 ms frame. ONNX Runtime's ``MatMulNBits`` (``com.microsoft``) with 8-bit
weights and ``accuracy_level`` 4 reads a quarter of that and multiplies in integers, about three
times faster per layer here (``docs/training-record/2026-12-01.md``, fourth session). Its
arithmetic, which torch reproduces in ``int8_linear`` (to about 1e-6 relative, the order of the
float sums):

* the weight ``[N, K]`` is cut into blocks of ``BLOCK`` inputs (the last one zero-padded); each
  block keeps one float scale, ``max |w| / 127``, and its values rounded to integers;
* each input row is cut and rounded the same way, block by block, when the layer runs; so a
  frame's output never depends on the other frames of the call;
* each block's integer dot product is scaled by the two scales, and the blocks are summed.

Training sees the same rounding (its gradient passes straight through, as if there were none),
so a model trained or fine-tuned with ``int8`` on is the model the runtime runs; it sums the
products in a faster order, which differs by float32 roundings only.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

BLOCK = 32    # inputs per quantization block
LEVELS = 127  # symmetric: integers -127..127


def _blocked(x: torch.Tensor) -> torch.Tensor:
    """``[..., K]`` -> ``[..., ceil(K / BLOCK), BLOCK]``, the last block zero-padded."""
    pad = -x.shape[-1] % BLOCK
    return F.pad(x, (0, pad)).unflatten(-1, (-1, BLOCK))


def quantize_blocks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Integers (as floats) ``[..., nb, BLOCK]`` and scales ``[..., nb]`` of ``x`` ``[..., K]``."""
    blocks = _blocked(x)
    scale = blocks.abs().amax(-1) / LEVELS
    q = torch.round(blocks / torch.where(scale > 0, scale, 1.0)[..., None])
    return q, scale


def _rounded(x: torch.Tensor) -> torch.Tensor:
    """``x`` ``[..., K]`` rounded: the integers times their block's scale, whole blocks."""
    q, scale = quantize_blocks(x)
    return (q * scale[..., None]).flatten(-2)


def _emulate(x: torch.Tensor, weight: torch.Tensor, exact: bool) -> torch.Tensor:
    """``exact``: the runtime's order, each block's integer dot product (exact in float32: below
    2^24) times the two scales, summed over the blocks. Else one float product of the rounded
    operands: the same values summed in another order, ten times faster, for training."""
    if not exact:
        return F.linear(_rounded(x), _rounded(weight))
    qx, sx = quantize_blocks(x.flatten(0, -2))  # [M, nb, BLOCK], [M, nb]
    qw, sw = quantize_blocks(weight)            # [N, nb, BLOCK], [N, nb]
    dots = torch.bmm(qx.transpose(0, 1), qw.permute(1, 2, 0))  # [nb, M, N]
    y = (dots * (sx.t()[:, :, None] * sw.t()[:, None, :])).sum(0)
    return y.unflatten(0, x.shape[:-1])


class _Int8Linear(torch.autograd.Function):
    """The rounded product forward, the float product's gradient backward."""

    @staticmethod
    def forward(ctx, x, weight, exact: bool):
        ctx.save_for_backward(x, weight)
        return _emulate(x, weight, exact)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        # under autocast the product (and so ``grad``) is bfloat16 while x or weight may not be;
        # each gradient is computed in grad's precision and returned in its input's
        grad_x = grad @ weight.to(grad.dtype)
        grad_w = grad.flatten(0, -2).t() @ x.flatten(0, -2).to(grad.dtype)
        return grad_x.to(x.dtype), grad_w.to(weight.dtype), None


class _MatMulNBits(torch.autograd.Function):
    """Export only: one ``MatMulNBits`` node holding the packed weight, its scales and the bias
    (no zero points: 128, the default; no ``g_idx``)."""

    @staticmethod
    def forward(ctx, x, packed, scales, bias):
        return x.new_zeros(*x.shape[:-1], packed.shape[0])  # only the shape matters in a trace

    @staticmethod
    def symbolic(g, x, packed, scales, bias):
        from torch.onnx import symbolic_helper

        n, blocks = symbolic_helper._get_tensor_sizes(packed)[:2]
        none = symbolic_helper._optional_input_placeholder_tensor
        return g.op("com.microsoft::MatMulNBits", x, packed, scales, none(g), none(g), bias,
                    K_i=blocks * BLOCK, N_i=n, bits_i=8, block_size_i=BLOCK, accuracy_level_i=4)


def packed_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``MatMulNBits`` constants of ``weight`` ``[N, K]``: uint8 ``[N, nb, BLOCK]`` (zero point
    128) and float scales ``[N * nb]``, made with the tracer off: a trace sees two constants."""
    tracing = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        with torch.no_grad():
            q, scale = quantize_blocks(weight)
            packed = torch.from_numpy((q.numpy() + 128).astype(np.uint8))
            return packed, scale.reshape(-1).clone()
    finally:
        torch._C._set_tracing_state(tracing)


def int8_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                exact: bool = True) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` with both sides rounded to 8 bits per block, as run;
    ``exact=False`` (training) sums the products in a faster order (``_emulate``)."""
    if torch.onnx.is_in_onnx_export():
        packed, scales = packed_weight(weight)
        pad = -x.shape[-1] % BLOCK
        if bias is None:
            bias = weight.new_zeros(weight.shape[0])
        return _MatMulNBits.apply(F.pad(x, (0, pad)) if pad else x, packed, scales, bias)
    y = _Int8Linear.apply(x, weight, exact)
    return y if bias is None else y + bias
