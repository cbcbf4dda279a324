"""Residual VQ: no collapse (k-means init, EMA, dead-code restart) and gradients done right."""

from dataclasses import replace

import pytest
import torch

from codec.model import CodecConfig, build_codec
from codec.model.quantize import ResidualVQ, VectorQuantizer


def test_kmeans_init_and_ema_update_move_every_level():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, num_codebooks=4, codebook_size=16).train()
    z = torch.randn(4, 8, 64)
    rvq(z)  # first batch: k-means initialisation of every level
    before = [lvl.codebook.clone() for lvl in rvq.levels]
    assert all(bool(lvl.initialised) for lvl in rvq.levels)
    rvq(torch.randn(4, 8, 64))
    for b, lvl in zip(before, rvq.levels):
        assert not torch.equal(b, lvl.codebook), "EMA update must change every codebook"


def test_dead_codes_are_restarted_on_batch_vectors():
    torch.manual_seed(0)
    vq = VectorQuantizer(dim=4, size=32, patience=5)
    x = torch.randn(256, 4)
    vq.initialise(x)
    vq.codebook[:16] = 100.0  # far away: never chosen
    vq.ema_sum[:16] = 100.0
    for _ in range(4):
        vq.update(x, vq.nearest(x))
    assert (vq.codebook[:16] > 50).all(), "a code idle for fewer steps than patience stays"
    vq.update(x, vq.nearest(x))
    assert (vq.codebook.abs() < 50).all(), "codes idle for patience steps move back to the data"


def test_gradients_reach_encoder_and_every_level_is_used():
    torch.manual_seed(0)
    model = build_codec(CodecConfig(channels=8, dim=16, num_codebooks=6, codebook_size=16)).train()
    wav = torch.randn(2, 1, 16000) * 0.1
    model(wav)  # initialise codebooks
    recon, q = model(wav)
    (recon.pow(2).mean() + q.commit_loss).backward()
    for name, p in model.encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # every level contributes: using one level more changes the decoder input
    z = model.encoder(model.pad(wav))
    model.eval()
    outs = [model.quantizer(z, torch.full((2,), k)).quantized for k in range(7)]
    for k in range(6):
        assert not torch.allclose(outs[k], outs[k + 1]), f"level {k} has no effect"
    assert q.perplexity.shape == (6,) and (q.perplexity >= 1).all()


def test_commitment_gradient_reaches_each_level_input():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, num_codebooks=3, codebook_size=16).train()
    rvq(torch.randn(2, 8, 32))
    z = torch.randn(2, 8, 32, requires_grad=True)
    out = rvq(z)
    grad, = torch.autograd.grad(out.commit_loss, z)
    assert grad.abs().sum() > 0
    # straight-through: the quantized output passes the gradient to z unchanged
    grad2, = torch.autograd.grad(out.quantized.sum(), z)
    torch.testing.assert_close(grad2, torch.ones_like(z))


def test_encode_decode_prefix():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, num_codebooks=4, codebook_size=16).train()
    z = torch.randn(1, 8, 40)
    rvq(z)
    rvq.eval()
    codes = rvq.encode(z, 4)
    assert codes.shape == (1, 4, 40)
    torch.testing.assert_close(rvq.encode(z, 2), codes[:, :2])
    err = [(rvq.decode(codes[:, :k]) - z).pow(2).mean() for k in range(1, 5)]
    assert all(a >= b for a, b in zip(err, err[1:])), "more codebooks must not be worse"


def test_low_dimensional_codebooks_search_a_principal_subspace():
    torch.manual_seed(0)
    # latents with most energy in 3 of 8 directions
    basis = torch.linalg.qr(torch.randn(8, 8))[0]
    scale = torch.tensor([3.0, 2.0, 1.5, 0.1, 0.1, 0.1, 0.1, 0.1])
    z = ((torch.randn(4, 64, 8) * scale) @ basis.t()).transpose(1, 2)  # [B, 8, T]
    rvq = ResidualVQ(dim=8, num_codebooks=4, codebook_size=16, code_dim=3).train()
    rvq(z)
    first = rvq.levels[0]
    assert first.codebook.shape == (16, 3) and first.projection.shape == (8, 3)
    torch.testing.assert_close(first.projection.t() @ first.projection, torch.eye(3),
                               atol=1e-5, rtol=0)
    # the first level's subspace is the data's 3 strong directions
    strong = basis[:, :3]
    assert torch.linalg.matrix_norm(strong.t() @ first.projection) ** 2 > 2.9
    rvq.eval()
    codes = rvq.encode(z, 4)
    flat = z.transpose(1, 2).reshape(-1, 8)
    # the search is exact within the subspace: the chosen code is the nearest latent code
    dists = torch.cdist(flat, first.latent_codebook())
    torch.testing.assert_close(codes[:, 0].reshape(-1), dists.argmin(-1))
    err = [(rvq.decode(codes[:, :k]) - z).pow(2).mean() for k in range(1, 5)]
    assert all(a >= b for a, b in zip(err, err[1:]))


def test_low_dimensional_model_saves_loads_and_streams(tmp_path):
    import numpy as np

    from codec.model import load_model, save_model
    from codec.runtime.streaming import StreamDecoder, StreamEncoder

    torch.manual_seed(0)
    config = CodecConfig(channels=8, dim=16, num_codebooks=6, code_dim=4, kernel_factors=(2, 1),
                         bitrates=(1.5, 3.0))
    model = build_codec(config).train()
    model(torch.randn(4, 1, 16000) * 0.1)
    save_model(model.eval(), tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config == config
    wav = torch.randn(6400) * 0.1
    codes = loaded.encode(wav, 6)
    torch.testing.assert_close(codes, model.encode(wav, 6))
    offline = loaded.decode(codes)[0, 0].numpy()
    for backend in ("eager", "onnxruntime"):
        enc = StreamEncoder(loaded, 3.0, backend)  # 3 kbps: all 6 levels
        streamed = np.stack([enc.encode_codes(f) for f in wav.numpy().reshape(-1, 320)], axis=1)
        assert (streamed != codes[0].numpy()).any(axis=0).mean() <= 0.05, backend
        dec = StreamDecoder(loaded, backend=backend)
        out = np.concatenate([dec._run(c).copy() for c in codes[0].numpy().T])  # _run: a view
        np.testing.assert_allclose(out, offline, atol=1e-4, err_msg=backend)


def _trained_rvq(code_dim=0):
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, num_codebooks=3, codebook_size=16, code_dim=code_dim).train()
    rvq(torch.randn(4, 8, 50))  # k-means and the principal axes from this batch
    return rvq.eval()


def _error(rvq, x, codes):
    return ((x - sum(rvq.levels[i].lookup(c) for i, c in enumerate(codes))) ** 2).sum(-1)


def test_a_beam_as_wide_as_every_combination_finds_the_nearest_sum():
    for code_dim in (0, 4):
        rvq = _trained_rvq(code_dim)
        x = torch.randn(40, 8)
        grid = torch.cartesian_prod(*[torch.arange(16)] * 3)          # every code triple
        sums = sum(rvq.levels[i].lookup(grid[:, i]) for i in range(3))  # [4096, 8]
        optimum = torch.cdist(x, sums).pow(2).min(-1).values
        beam = rvq.search(x, 3, beam=16 * 16)
        torch.testing.assert_close(_error(rvq, x, beam), optimum, rtol=1e-4, atol=1e-4)
        greedy = rvq.search(x, 3)
        assert _error(rvq, x, greedy).mean() > _error(rvq, x, rvq.search(x, 3, beam=4)).mean()


def test_a_beam_search_codes_each_vector_on_its_own():
    rvq = _trained_rvq()
    x = torch.randn(30, 8)
    together = rvq.search(x, 3, beam=4)
    alone = torch.cat([rvq.search(x[i:i + 1], 3, beam=4) for i in range(30)], 1)
    assert together.shape == (3, 30) and torch.equal(together, alone)
    assert rvq.search(x, 0, beam=4).shape == (0, 30)


def test_search_beams_in_the_config_reach_the_encoder():
    config = CodecConfig(channels=8, dim=16, code_dim=4, search_beams=(1, 8))
    assert config.encoder_sizes() == (3, 6, 12, 18)
    assert [config.search_for(k) for k in (1, 3, 4, 6, 7, 18)] == \
        [(3, 1), (3, 1), (6, 8), (6, 8), (12, 1), (18, 1)]
    greedy = CodecConfig()
    assert greedy.search_for(4) == (4, 1) and greedy.encoder_size_for(4) == 6
    model = build_codec(config).eval()
    wav = torch.randn(1, 1, 3200) * 0.1
    z = model.encoder(model.pad(wav))
    six = model.encode(wav, 6)
    assert torch.equal(six, model.quantizer.encode(z, 6, beam=8))
    assert torch.equal(model.encode(wav, 4), six[:, :4])  # as the runtime: the 6-code graph's rows
    for bad in ((0,), (1, 1, 1, 1, 1)):
        with pytest.raises(ValueError):
            CodecConfig(search_beams=bad)


def test_the_depth_bias_tells_the_decoder_how_many_codebooks_it_received(tmp_path):
    """With ``depth_bias`` the decoder's input is the codes' sum plus row K of a learnt table:
    zero as built (the model computes what it did without it), trained by the loss through
    quantizer dropout, added alike offline, in training and in the exported decoder graph."""
    import copy

    import numpy as np

    from codec.runtime.engine import EngineDecoder
    from codec.model import load_model, save_model
    from codec.model.onnx_runtime import engine_for

    torch.manual_seed(0)
    config = CodecConfig(channels=8, dim=16, num_codebooks=6, code_dim=4, bitrates=(1.5, 3.0))
    plain, biased = build_codec(config), build_codec(replace(config, depth_bias=True))
    assert plain.quantizer.depth_bias is None and biased.quantizer.depth_bias.shape == (7, 16)
    plain.train()(torch.randn(4, 1, 16000) * 0.1)  # codebooks from this batch
    biased.load_state_dict(plain.state_dict(), strict=False)
    plain.eval(), biased.eval()
    wav = torch.randn(2, 1, 3200) * 0.1
    active = torch.tensor([3, 6])
    torch.testing.assert_close(biased(wav, active)[0], plain(wav, active)[0])
    trained = copy.deepcopy(biased).train()
    trained(wav, active)[0].pow(2).mean().backward()  # the loss reaches rows 3 and 6 only
    used = trained.quantizer.depth_bias.grad.abs().sum(-1) > 0
    assert used.tolist() == [False, False, False, True, False, False, True]
    with torch.no_grad():
        biased.quantizer.depth_bias.normal_()
    q = biased(wav, active)[1]
    plain_q = plain(wav, active)[1].quantized
    torch.testing.assert_close(q.quantized - plain_q,
                               biased.quantizer.depth_bias[active][:, :, None].expand_as(q.quantized))
    codes = biased.encode(wav[0, 0], 6)
    for k in (1, 3, 6):
        torch.testing.assert_close(biased.quantizer.decode(codes[:, :k]) -
                                   plain.quantizer.decode(codes[:, :k]),
                                   biased.quantizer.depth_bias[k][None, :, None].expand(1, 16, 10))
    save_model(biased, tmp_path)
    loaded = load_model(tmp_path)
    torch.testing.assert_close(loaded.quantizer.depth_bias, biased.quantizer.depth_bias)
    ks = [6, 1, 3, 6, 2]  # the code count changes from frame to frame
    engine = engine_for(loaded)
    got = np.concatenate([EngineDecoder(engine).samples(codes[0, :k, i: i + 1].numpy())
                          for i, k in enumerate(ks)])
    expected = np.concatenate([loaded.decode(codes[:, :k, i: i + 1])[0, 0].numpy()
                               for i, k in enumerate(ks)])
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("code_dim", [0, 4])
def test_decode_is_the_sum_of_each_level_s_code_and_the_depth_bias_row(code_dim):
    """``codes_to_latent`` (the one rule: decode, the eager engine and the decoder graph) adds
    each level's code in the latent space and row K of the depth bias."""
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, num_codebooks=4, codebook_size=16, code_dim=code_dim,
                     depth_bias=True).train()
    rvq(torch.randn(2, 8, 32))
    with torch.no_grad():
        rvq.depth_bias.normal_()
    codes = torch.randint(0, 16, (2, 4, 5))
    for k in range(5):
        expected = torch.zeros(2, 5, 8)
        for i in range(k):
            expected = expected + rvq.levels[i].lookup(codes[:, i])
        if k:
            expected = expected + rvq.depth_bias[k]
        torch.testing.assert_close(rvq.decode(codes[:, :k]), expected.transpose(1, 2).detach())
