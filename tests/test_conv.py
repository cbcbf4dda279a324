"""Streaming == offline for every causal layer, and the future never changes the past."""

import pytest
import torch

from codec.model.nn.conv import CausalConv1d, CausalConvTranspose1d
from codec.model.nn.seanet import Decoder, Encoder

torch.manual_seed(0)


def run_in_chunks(module, x, sizes):
    state = module.init_state(x.shape[0])
    outs, start = [], 0
    for n in sizes:
        outs.append(module.step(x[..., start:start + n], state))
        start += n
    return torch.cat(outs, -1)


@pytest.mark.parametrize("kernel,stride,dilation", [(3, 1, 1), (3, 1, 3), (16, 8, 1), (10, 5, 1),
                                                    (1, 1, 1), (7, 1, 1)])
def test_conv_chunks_equal_offline(kernel, stride, dilation):
    conv = CausalConv1d(4, 5, kernel, stride, dilation)
    x = torch.randn(2, 4, stride * 30)
    sizes = [stride * n for n in (1, 7, 2, 20)]
    torch.testing.assert_close(run_in_chunks(conv, x, sizes), conv(x), atol=1e-5, rtol=1e-5)
    assert conv(x).shape[-1] == x.shape[-1] // stride


@pytest.mark.parametrize("kernel,stride", [(16, 8), (10, 5), (8, 8), (2, 1)])
def test_conv_transpose_chunks_equal_offline(kernel, stride):
    conv = CausalConvTranspose1d(4, 3, kernel, stride)
    x = torch.randn(2, 4, 25)
    y = run_in_chunks(conv, x, [1, 4, 3, 17])
    torch.testing.assert_close(y, conv(x), atol=1e-5, rtol=1e-5)
    assert y.shape[-1] == 25 * stride


def test_transpose_kernel_bounds():
    with pytest.raises(ValueError):
        CausalConvTranspose1d(2, 2, 20, 8)


def test_encoder_decoder_streaming_equal_offline():
    enc, dec = Encoder(8, (8, 5, 8), 16), Decoder(8, (8, 5, 8), 16)
    x = torch.randn(1, 1, 320 * 12)
    with torch.no_grad():
        z = enc(x)
        torch.testing.assert_close(run_in_chunks(enc, x, [320] * 5 + [320 * 7]), z,
                                   atol=1e-5, rtol=1e-4)
        y = dec(z)
        torch.testing.assert_close(run_in_chunks(dec, z, [1, 1, 3, 7]), y, atol=1e-5, rtol=1e-4)
    assert z.shape[-1] == 12 and y.shape[-1] == 320 * 12


def test_future_input_never_changes_past_output():
    enc, dec = Encoder(8, (8, 5, 8), 16), Decoder(8, (8, 5, 8), 16)
    x = torch.randn(1, 1, 320 * 10)
    x2 = x.clone()
    x2[..., 320 * 6:] = torch.randn(1, 1, 320 * 4)  # change frames 6.. only
    with torch.no_grad():
        y, y2 = dec(enc(x)), dec(enc(x2))
    assert torch.equal(y[..., : 320 * 6], y2[..., : 320 * 6])
    assert not torch.allclose(y[..., 320 * 6:], y2[..., 320 * 6:])
