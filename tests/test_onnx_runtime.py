"""The ONNX Runtime per-frame path: same arithmetic as the offline model, explicit state."""

import numpy as np
import pytest
import torch

from codec.nn import onnx_runtime
from codec.streaming import (EagerFrameDecoder, EagerFrameEncoder, StreamDecoder, StreamEncoder,
                             resolve_backend)

from conftest import make_tiny_model, speech_like

pytestmark = pytest.mark.skipif(not onnx_runtime.available(), reason="pip install 'codec[fast]'")


def test_encoder_codes_match_the_eager_modules(tiny_model):
    frames = speech_like(1.0, seed=7).reshape(-1, 320)
    k = tiny_model.config.num_codebooks
    ort_enc, torch_enc = onnx_runtime.OnnxFrameEncoder(tiny_model), EagerFrameEncoder(tiny_model)
    a = np.stack([ort_enc.codes(f, k) for f in frames])
    b = np.stack([torch_enc.codes(f, k) for f in frames])
    assert a.dtype == np.int64 and a.shape == (len(frames), k)
    assert (a != b).any(axis=1).mean() <= 0.02  # float near-ties only


def test_decoder_matches_offline_decode_for_any_code_count(tiny_model):
    rng = np.random.default_rng(0)
    size, levels = tiny_model.config.codebook_size, tiny_model.config.num_codebooks
    codes = rng.integers(0, size, (levels, 40))
    dec = onnx_runtime.OnnxFrameDecoder(tiny_model)
    ks = [levels, 1, 3, levels, 2] * 8  # the code count changes from frame to frame
    out = np.concatenate([dec.samples(codes[:k, i]) for i, k in enumerate(ks)])
    ref = EagerFrameDecoder(tiny_model)
    expected = np.concatenate([ref.samples(codes[:k, i]) for i, k in enumerate(ks)])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    whole = torch.from_numpy(codes[:, :1].repeat(40, axis=1))[None]  # constant K: offline pass
    dec = onnx_runtime.OnnxFrameDecoder(tiny_model)
    streamed = np.concatenate([dec.samples(codes[:, 0]) for _ in range(40)])
    np.testing.assert_allclose(streamed, tiny_model.decode(whole)[0, 0].numpy(), atol=1e-5)


def test_bitrate_switch_keeps_the_encoder_state(tiny_model):
    """Codes at K levels are the first K of the full-K codes: the conv state is shared."""
    frames = speech_like(0.6, seed=8).reshape(-1, 320)
    full_k = tiny_model.config.num_codebooks
    enc, ref = onnx_runtime.OnnxFrameEncoder(tiny_model), onnx_runtime.OnnxFrameEncoder(tiny_model)
    for i, f in enumerate(frames):
        k = [2, full_k, 5][i % 3]
        np.testing.assert_array_equal(enc.codes(f, k), ref.codes(f, full_k)[:k])


def test_streams_are_independent_and_outputs_are_not_reused(tiny_model):
    frames = speech_like(0.4, seed=9).reshape(-1, 320)
    solo = StreamEncoder(tiny_model, 6, "onnxruntime")
    expected = [solo.encode(f) for f in frames]
    a, b = StreamEncoder(tiny_model, 6, "onnxruntime"), StreamEncoder(tiny_model, 6, "onnxruntime")
    dec = StreamDecoder(tiny_model, backend="onnxruntime")
    outputs = []
    for f, want in zip(frames, expected):
        b.encode(f[::-1].copy())  # another stream on the same sessions
        assert a.encode(f) == want
        outputs.append(dec.decode(want))
    kept = [o.copy() for o in outputs]
    dec.decode(expected[0])
    assert all(np.array_equal(o, k) for o, k in zip(outputs, kept)), "returned frames were reused"


def test_new_weights_give_new_sessions(tmp_path):
    model = make_tiny_model(tmp_path / "m", seed=3)
    frame = speech_like(0.02, seed=1)
    before = StreamDecoder(model, backend="onnxruntime").decode(
        StreamEncoder(model, 9, "onnxruntime").encode(frame))
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(0.5)
    after = StreamDecoder(model, backend="onnxruntime").decode(
        StreamEncoder(model, 9, "onnxruntime").encode(frame))
    assert not np.allclose(before, after)


def test_backend_names(monkeypatch):
    assert resolve_backend("auto") == "onnxruntime"
    assert resolve_backend("eager") == "eager"
    with pytest.raises(ValueError, match="backend"):
        resolve_backend("tflite")
    monkeypatch.setattr(onnx_runtime, "available", lambda: False)
    assert resolve_backend("auto") == "eager"
    with pytest.raises(ImportError, match="codec\\[fast\\]"):
        resolve_backend("onnxruntime")


SPECTRAL = [dict(encoder="spectral", decoder="spectral", hop_size=320, transform=t, width=16,
                 encoder_blocks=1, decoder_blocks=2, dim=16, num_codebooks=18,
                 codebook_size=1024, code_dim=4) for t in ("stft", "mdct")]


@pytest.mark.parametrize("fields", [{}, *SPECTRAL], ids=["seanet", "stft", "mdct"])
def test_every_kind_exports_and_its_graphs_equal_the_eager_step(tmp_path, fields):
    """The exported graphs are the modules' own step: same codes, same samples (and the same
    synthesis delay), for every registered kind."""
    from dataclasses import replace
    from conftest import TINY
    from codec.model import build_codec, load_model, save_model
    torch.manual_seed(0)
    model = build_codec(replace(TINY, **fields)).train()
    for _ in range(2):
        model(torch.randn(16, 1, 16000) * 0.1)
    save_model(model.eval(), tmp_path)
    model = load_model(tmp_path)
    frames = speech_like(0.5, seed=3).reshape(-1, model.hop)
    k = model.config.num_codebooks
    ort_enc, eager_enc = onnx_runtime.OnnxFrameEncoder(model), EagerFrameEncoder(model)
    a = np.stack([ort_enc.codes(f, k) for f in frames])
    b = np.stack([eager_enc.codes(f, k) for f in frames])
    assert (a != b).any(axis=1).mean() <= 0.05  # float near-ties only
    ort_dec, eager_dec = onnx_runtime.OnnxFrameDecoder(model), EagerFrameDecoder(model)
    out = np.concatenate([ort_dec.samples(c[:6]) for c in b])
    ref = np.concatenate([eager_dec.samples(c[:6]) for c in b])
    np.testing.assert_allclose(out, ref, atol=1e-4)
    offline = model.decoder(model.quantizer.decode(torch.from_numpy(b[:, :6].T)[None]))
    np.testing.assert_allclose(ref, offline[0, 0].detach().numpy(), atol=1e-4)
    assert StreamDecoder(model, backend="onnxruntime").delay == model.delay


def test_shipped_graphs_are_used_checked_and_equal_the_modules(shipped_model, tmp_path):
    import shutil
    from codec.errors import FormatError
    from codec.model import WEIGHTS_DIR, load_model
    assert set(shipped_model.saved_graphs[1]) == {"encoder", "decoder"}
    frames = speech_like(1.0, seed=5).reshape(-1, shipped_model.hop)
    k = shipped_model.config.num_codebooks
    ort_enc, eager_enc = onnx_runtime.OnnxFrameEncoder(shipped_model), EagerFrameEncoder(shipped_model)
    a = np.stack([ort_enc.codes(f, k) for f in frames])
    b = np.stack([eager_enc.codes(f, k) for f in frames])
    assert (a != b).mean() <= 0.01  # float near-ties only
    ort_dec, eager_dec = onnx_runtime.OnnxFrameDecoder(shipped_model), EagerFrameDecoder(shipped_model)
    np.testing.assert_allclose(np.concatenate([ort_dec.samples(c) for c in b]),
                               np.concatenate([eager_dec.samples(c) for c in b]), atol=1e-4)
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    data = bytearray((copy / "encoder.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "encoder.onnx").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="encoder.onnx is corrupted"):
        StreamEncoder(load_model(copy), 9, "onnxruntime")  # 9 kbps: every level, the saved graph


def test_saved_graphs_are_not_used_once_the_weights_change(tmp_path):
    from codec.model import load_model, save_model
    model = make_tiny_model(tmp_path / "a", seed=4)
    save_model(model, tmp_path / "b", graphs=True)
    model = load_model(tmp_path / "b")
    frame = speech_like(0.02, seed=2)
    codes = onnx_runtime.OnnxFrameEncoder(model).codes(frame, 3)
    before = onnx_runtime.OnnxFrameDecoder(model).samples(codes)
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(0.5)
    after = onnx_runtime.OnnxFrameDecoder(model).samples(codes)
    np.testing.assert_allclose(after, EagerFrameDecoder(model).samples(codes), atol=1e-5)
    assert not np.allclose(before, after)
