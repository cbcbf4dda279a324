"""The spectral kind: perfect-reconstruction transforms, streaming equal to offline, causality,
the declared synthesis delay, and the registry that builds it."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from codec.model import CodecConfig, build_codec
from codec.model.nn.spectral import SpectralDecoder, SpectralEncoder, Transform

HOP = 320
KINDS = ("stft", "mdct")


def tiny_config(transform: str, hop: int = HOP) -> CodecConfig:
    return CodecConfig(encoder="spectral", decoder="spectral", hop_size=hop, transform=transform,
                       width=16, encoder_blocks=1, decoder_blocks=2, dim=8, num_codebooks=3,
                       codebook_size=1024, code_dim=4, bitrates=(1.5,))


@pytest.mark.parametrize("kind", KINDS)
def test_transform_reconstructs_perfectly(kind):
    t = Transform(kind, HOP)
    x = torch.randn(2, 10 * HOP)
    frames = F.pad(x, (HOP // 2, 0)).unfold(-1, HOP, HOP // 2)
    y = t.synthesis(t.analysis(frames))
    first, second = y[..., : HOP // 2], y[..., HOP // 2:]
    ola = (first[:, 1:] + second[:, :-1]).reshape(2, -1)  # complete segments
    assert torch.allclose(ola, x[:, : ola.shape[-1]], atol=1e-5)
    c = t.analysis(frames)
    assert torch.allclose(t.decompress(t.compress(c)), c, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("long_window", (0, 3 * HOP))
def test_streamed_equals_offline_and_future_never_changes_past(kind, long_window):
    torch.manual_seed(0)
    enc = SpectralEncoder(HOP, 8, kind, 16, 2, 2, 5, long_window=long_window,
                          long_window_hz=1000, sample_rate=16000).eval()
    dec = SpectralDecoder(HOP, 8, kind, 16, 2, 2, 5).eval()
    x = torch.randn(1, 1, 12 * HOP)
    with torch.no_grad():
        z = enc(x)
        state = enc.init_state()
        streamed = torch.cat([enc.step(x[..., i: i + k * HOP], state)
                              for i, k in ((0, 1), (HOP, 4), (5 * HOP, 7))], -1)
        assert torch.allclose(streamed, z, atol=1e-5)
        changed = x.clone()
        changed[..., 6 * HOP:] = torch.randn(6 * HOP)
        assert torch.equal(enc(changed)[..., :6], z[..., :6])
        y = dec(z)
        state = dec.init_state()
        out = torch.cat([dec.step(z[..., i: i + k], state) for i, k in ((0, 1), (1, 5), (6, 6))], -1)
        assert torch.allclose(out, y, atol=1e-5)
        z2 = z.clone()
        z2[..., 6:] = torch.randn_like(z2[..., 6:])
        assert torch.equal(dec(z2)[..., : 6 * HOP], y[..., : 6 * HOP])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("hop", (160, 320, 640))
def test_model_output_is_aligned_and_as_long_as_asked(kind, hop):
    torch.manual_seed(0)
    model = build_codec(tiny_config(kind, hop)).train()
    wav = torch.randn(2, 1, 8 * hop) * 0.1
    recon, q = model(wav)
    assert model.delay == hop // 2
    assert recon.shape[-1] == 8 * hop - model.delay
    recon, q = model(wav, quantize=False)  # autoencoder warm-up
    assert q is None and recon.shape[-1] == 8 * hop - model.delay
    model.eval()
    codes = model.encode(wav[0, 0, : 5 * hop + 7])
    assert codes.shape[-1] == 6
    assert model.decode(codes).shape[-1] == 6 * hop
    assert model.decode(codes, length=5 * hop + 7).shape[-1] == 5 * hop + 7


def test_a_trained_autoencoder_keeps_the_waveform():
    """With the identity inside (head = encoder features), the pipeline is the transform's own
    perfect reconstruction, so alignment errors of one sample would show here."""
    for kind in KINDS:
        enc = SpectralEncoder(HOP, 8, kind, 16, 1, 2, 5)
        dec = SpectralDecoder(HOP, 8, kind, 16, 1, 2, 5)
        x = torch.randn(1, 1, 6 * HOP)
        feats = enc.features(F.pad(x, (HOP // 2, 0)))
        y = dec._overlap_add(dec.frames(feats), feats.new_zeros(1, 1, HOP // 2))[0]
        assert torch.allclose(y[..., dec.delay:], x[..., : -dec.delay], atol=1e-4), kind


def test_unknown_kind_names_the_kinds_there_are():
    with pytest.raises(ValueError, match="seanet, spectral"):
        build_codec(CodecConfig(encoder="wavenet"))


@pytest.mark.parametrize("kind", KINDS)
def test_files_of_a_spectral_model_are_aligned_and_exactly_as_long(tmp_path, kind):
    """compress/decompress (block-wise, the synthesis delay removed and the tail flushed) equals
    the offline decode, sample for sample, and is as long as the input."""
    import numpy as np
    import codec
    from codec.model import load_model, save_model
    torch.manual_seed(0)
    model = build_codec(tiny_config(kind)).train()
    model(torch.randn(4, 1, 4 * HOP))
    save_model(model.eval(), tmp_path)
    model = load_model(tmp_path)
    wav = (0.1 * torch.randn(7 * HOP + 100)).numpy()
    out, rate = codec.decompress(codec.compress(wav, model.config.sample_rate, 1.5, model=model),
                                 model=model)
    assert len(out) == len(wav) and rate == model.config.sample_rate
    codes = model.encode(torch.from_numpy(wav), model.config.codebooks_for(1.5))
    expected = model.decode(codes, len(wav))[0, 0].numpy().clip(-1, 1)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_a_long_analysis_window_reaches_into_the_past_only():
    """``long_window`` (streaming and causality: the test above) widens what a frame sees
    into the past, beyond the short frames' 30 ms, and never into the future."""
    torch.manual_seed(0)
    enc = SpectralEncoder(HOP, 8, "stft", 16, 0, 2, 5, long_window=3 * HOP,
                          long_window_hz=1000, sample_rate=16000).eval()
    assert enc.history == 2 * HOP and enc.long.bins == int(1000 * 3 * HOP / 16000) + 1
    x = torch.randn(1, 1, 10 * HOP)
    with torch.no_grad():
        z = enc(x)
        # no blocks, so frame 5 sees [3 * HOP, 6 * HOP) through the long window and only
        # [4.5 * HOP, 6 * HOP) through the short frames: [3, 4) * HOP reaches it by the long one
        earlier = x.clone()
        earlier[..., : 3 * HOP] = 0
        assert torch.equal(enc(earlier)[..., 5:], z[..., 5:])
        earlier[..., 3 * HOP: 4 * HOP] = 0
        assert not torch.allclose(enc(earlier)[..., 5], z[..., 5])
        short = SpectralEncoder(HOP, 8, "stft", 16, 0, 2, 5).eval()
        assert torch.equal(short(earlier)[..., 5:], short(x)[..., 5:])
    with pytest.raises(ValueError):
        SpectralEncoder(HOP, 8, long_window=HOP + HOP // 2, long_window_hz=1000,
                        sample_rate=16000)
    with pytest.raises(ValueError):
        SpectralEncoder(HOP, 8, long_window=3 * HOP)  # no top frequency, no sample rate


def test_envelope_head_sets_each_bands_level():
    """The gain-shape head: whatever the shape's level, each band of the coefficients it gives
    has the RMS its log-level output says (up to the floor), and the shape within the band is
    kept; the bands cover every bin once, about one ERB each."""
    from codec.model.nn.spectral_envelope import EnvelopeSpectralDecoder, erb_bands
    edges = erb_bands(161, 16000)
    assert edges[0] == 0 and edges[-1] == 161 and all(b - a >= 2 for a, b in zip(edges, edges[1:]))
    assert 20 <= len(edges) - 1 <= 30
    dec = EnvelopeSpectralDecoder(320, 8, width=16, blocks=1, sample_rate=16000)
    torch.manual_seed(0)
    frames, bands = 3, dec.bands
    shape = 30 * torch.randn(1, 2 * frames, 2, 161)  # loud: the floor is negligible
    level = torch.randn(1, 2 * frames, bands)
    head = torch.cat([shape.flatten(-2), level], -1).reshape(1, frames, -1)
    c = dec.coefficients(head).unflatten(-1, (2, -1))
    power = c.pow(2).sum(-2)
    for b, (lo, hi) in enumerate(zip(edges, edges[1:])):
        rms = power[..., lo:hi].mean(-1).sqrt()
        assert torch.allclose(rms, level[..., b].exp(), rtol=1e-3)
        ratio = c[..., lo:hi] / shape[..., lo:hi]  # one positive factor per band and frame
        assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio), rtol=1e-4)


@pytest.mark.parametrize("f0", [80.0, 123.0, 160.0, 200.0, 310.0])
def test_pitch_prior_finds_the_period_of_a_voice(f0):
    """The pitch prior's lag search (a quarter-rate search, refined at the full rate) finds the
    period of a harmonic signal within a sample, from the frame and the hop before it."""
    from codec.model.nn.spectral_pitch import PitchSpectralDecoder
    dec = PitchSpectralDecoder(320, 8, width=16, blocks=1, sample_rate=16000)
    t = torch.arange(3 * 320) / 16000
    harmonics = sum(torch.sin(2 * math.pi * k * f0 * t + k) / k for k in range(1, 12))
    x = harmonics[None, None, 320:]                       # two frames, the hop before as history
    lags = dec._lags(dec._pairs(x, harmonics[None, None, :320]))
    assert lags.shape == (1, 2)
    assert (lags - 16000 / f0).abs().max() <= 1.0


def test_pitch_prior_filter_is_off_without_gain_and_combs_with_it():
    """With the gain's logit far below zero the comb filter passes its input; with it far above,
    a frame of noise loses energy (the comb keeps only what repeats at the lag) while a periodic
    frame at the found lag keeps its level."""
    from codec.model.nn.spectral_pitch import PARAMS, PitchSpectralDecoder
    dec = PitchSpectralDecoder(320, 8, width=16, blocks=1, sample_rate=16000)
    torch.manual_seed(0)
    history, previous = torch.zeros(1, 1, 320), torch.zeros(1, 1, PARAMS)
    noise = torch.randn(1, 1, 640)
    off = torch.tensor([-30.0, 0, 0, 0]).expand(1, 2, 4)
    on = torch.tensor([30.0, -30, 30, -30]).expand(1, 2, 4)     # full gain, the middle tap
    y = dec._filter(noise, off, history, previous)[0]
    assert torch.allclose(y, noise, atol=1e-5)
    y = dec._filter(noise, on, noise[..., :320], previous)[0]
    assert y[..., 400:].pow(2).mean() < 0.7 * noise[..., 400:].pow(2).mean()
    t = torch.arange(960) / 16000
    voice = sum(torch.sin(2 * math.pi * k * 160.0 * t) / k for k in range(1, 8))[None, None]
    y = dec._filter(voice[..., 320:], on, voice[..., :320], previous)[0]
    assert torch.allclose(y[..., 400:], voice[..., 720:], atol=1e-3)
