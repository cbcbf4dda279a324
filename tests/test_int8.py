"""8-bit layers (``codec/model/nn/int8.py``): torch computes what ONNX Runtime's MatMulNBits computes,
the gradient passes straight through, and the rounding is fine enough to keep a layer's output."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from codec.model.nn.int8 import BLOCK, int8_linear, packed_weight, quantize_blocks

ort = pytest.importorskip("onnxruntime")


class _Layer(torch.nn.Module):
    def __init__(self, k: int, n: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n, k) * 0.05)
        self.bias = torch.nn.Parameter(torch.randn(n) * 0.1)

    def forward(self, x):
        return int8_linear(x, self.weight, self.bias)


def _onnx_run(layer: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    buf = io.BytesIO()
    torch.onnx.export(layer, (x,), buf, dynamo=False, opset_version=17, input_names=["x"],
                      dynamic_axes={"x": {1: "frames"}}, custom_opsets={"com.microsoft": 1})
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.numpy()})[0]


@pytest.mark.parametrize("k", [64, 100])  # a whole number of blocks, and a padded last block
def test_torch_computes_what_the_runtime_computes(k):
    torch.manual_seed(0)
    layer = _Layer(k, 48)
    x = torch.randn(1, 7, k)
    x[0, 0, :10] *= 50  # one loud block: its own scale, the other blocks unaffected
    with torch.no_grad():
        expected = layer(x).numpy()
        exact = F.linear(x, layer.weight, layer.bias).numpy()
    got = _onnx_run(layer, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert np.abs(got - exact).max() > 1e-6  # the rounding is really there ...
    assert np.abs(got - exact).max() < 0.02 * np.abs(exact).max()  # ... and fine


def test_each_frame_is_rounded_on_its_own():
    torch.manual_seed(1)
    layer = _Layer(64, 16)
    x = torch.randn(1, 5, 64)
    with torch.no_grad():
        together = layer(x)
        alone = torch.cat([layer(x[:, i:i + 1]) for i in range(5)], 1)
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)


def test_gradient_passes_straight_through():
    torch.manual_seed(2)
    w = torch.randn(8, 40, requires_grad=True)
    x = torch.randn(3, 40, requires_grad=True)
    int8_linear(x, w, None).square().sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    y = int8_linear(x, w, None).detach()  # the float layer's gradient, at the rounded output
    torch.testing.assert_close(gx, 2 * y @ w.detach())
    torch.testing.assert_close(gw, 2 * y.t() @ x.detach())


def test_packed_weight_holds_the_rounded_values():
    w = torch.randn(4, 2 * BLOCK)
    packed, scales = packed_weight(w)
    q, s = quantize_blocks(w)
    assert packed.dtype == torch.uint8 and packed.shape == (4, 2, BLOCK)
    torch.testing.assert_close(packed.to(torch.float32) - 128, q)
    torch.testing.assert_close(scales, s.reshape(-1))
    torch.testing.assert_close((q * s[..., None]).flatten(1), w, atol=float(s.max()) / 2, rtol=0)


def test_the_training_order_is_a_float_rounding_apart():
    torch.manual_seed(3)
    x, w = torch.randn(2, 9, 96), torch.randn(40, 96) * 0.1
    exact, fast = int8_linear(x, w, None), int8_linear(x, w, None, exact=False)
    torch.testing.assert_close(fast, exact, rtol=1e-5, atol=1e-5 * float(exact.abs().max()))


def test_gradient_under_cpu_bfloat16_autocast_keeps_each_inputs_precision():
    """Training with ``--bf16``: the product runs in bfloat16, the gradients come back in the
    inputs' own dtypes and within bfloat16's precision of the float32 ones."""
    torch.manual_seed(3)
    w = torch.randn(8, 40, requires_grad=True)
    x = torch.randn(3, 40, requires_grad=True)
    int8_linear(x, w, None, exact=False).square().sum().backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    x.grad = w.grad = None
    with torch.autocast("cpu", torch.bfloat16):
        y = int8_linear(x, w, None, exact=False)
    assert y.dtype == torch.bfloat16
    y.float().square().sum().backward()
    assert x.grad.dtype == w.grad.dtype == torch.float32
    torch.testing.assert_close(x.grad, gx, rtol=0.05, atol=0.05 * gx.abs().max().item())
    torch.testing.assert_close(w.grad, gw, rtol=0.05, atol=0.05 * gw.abs().max().item())
