"""The runtime engine (``codec/runtime/engine.py``): graphs exported from the modules, equal to them,
for any number of frames per call, shipped with the weights and checked on load."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from codec.errors import ArgumentError, FormatError
from codec.model import WEIGHTS_DIR, build_codec, load_model, save_model
from codec.model.eager import EagerDecoder, EagerEncoder
from codec.model.onnx_runtime import engine_for
from codec.runtime.engine import EngineDecoder, EngineEncoder, load_engine
from codec.runtime.streaming import StreamDecoder, StreamEncoder, resolve_backend

from conftest import TINY, make_tiny_model, speech_like


def _frames_in_calls(n: int, sizes=(1, 3, 7, 1, 50)):
    """Split ``n`` frames into calls of the given sizes, cycling."""
    out, i, j = [], 0, 0
    while i < n:
        out.append((i, min(n, i + sizes[j % len(sizes)])))
        i, j = out[-1][1], j + 1
    return out


def _encode(engine, wav, k, calls, hop):
    return np.concatenate([engine.codes(wav[a * hop: b * hop], k) for a, b in calls], axis=1)


def _decode(engine, codes, calls):
    return np.concatenate([engine.samples(codes[:, a:b]) for a, b in calls])


def test_encoder_codes_match_the_eager_modules_for_any_frames_per_call(tiny_model):
    wav = speech_like(1.0, seed=7)
    k, hop = tiny_model.config.num_codebooks, tiny_model.hop
    frames = len(wav) // hop
    eager = _encode(EagerEncoder(tiny_model), wav, k, [(0, frames)], hop)
    engine = engine_for(tiny_model)
    for sizes in ((1,), (2, 5, 1, 13), (frames,)):
        got = _encode(EngineEncoder(engine), wav, k, _frames_in_calls(frames, sizes), hop)
        assert got.dtype == np.int64 and got.shape == (k, frames)
        assert (got != eager).any(axis=0).mean() <= 0.02  # float near-ties only


def test_decoder_matches_offline_decode_for_any_code_count_and_frames(tiny_model):
    rng = np.random.default_rng(0)
    size, levels = tiny_model.config.codebook_size, tiny_model.config.num_codebooks
    codes = rng.integers(0, size, (levels, 40))
    engine = engine_for(tiny_model)
    dec, ref = EngineDecoder(engine), EagerDecoder(tiny_model)
    ks = [levels, 1, 3, levels, 2] * 8  # the code count changes from frame to frame
    out = np.concatenate([dec.samples(codes[:k, i: i + 1], live=True) for i, k in enumerate(ks)])
    expected = np.concatenate([ref.samples(codes[:k, i: i + 1]) for i, k in enumerate(ks)])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    offline = tiny_model.decode(torch.from_numpy(codes)[None])[0, 0].numpy()
    for sizes in ((1,), (4, 1, 9), (40,)):
        got = _decode(EngineDecoder(engine), codes, _frames_in_calls(40, sizes))
        np.testing.assert_allclose(got, offline, atol=1e-5)


def test_any_number_of_codebooks_is_the_first_rows_of_a_larger_search(tiny_model):
    """Codes at K levels are the first K of the full-K codes; the conv state is shared, so K can
    change from frame to frame."""
    wav = speech_like(0.6, seed=8)
    full_k, hop = tiny_model.config.num_codebooks, tiny_model.hop
    engine = engine_for(tiny_model)
    enc, ref = EngineEncoder(engine), EngineEncoder(engine)
    for i in range(len(wav) // hop):
        k = [2, full_k, 5, 12, 3][i % 5]
        frame = wav[i * hop: (i + 1) * hop]
        np.testing.assert_array_equal(enc.codes(frame, k, live=True),
                                      ref.codes(frame, full_k, live=True)[:k])


def test_streams_are_independent_and_outputs_are_not_reused(tiny_model):
    frames = speech_like(0.4, seed=9).reshape(-1, 320)
    solo = StreamEncoder(tiny_model, 6)
    expected = [solo.encode(f) for f in frames]
    a, b = StreamEncoder(tiny_model, 6), StreamEncoder(tiny_model, 6)
    dec = StreamDecoder(tiny_model)
    outputs = []
    for f, want in zip(frames, expected):
        b.encode(f[::-1].copy())  # another stream on the same sessions
        assert a.encode(f) == want
        outputs.append(dec.decode(want))
    kept = [o.copy() for o in outputs]
    dec.decode(expected[0])
    assert all(np.array_equal(o, k) for o, k in zip(outputs, kept)), "returned frames were reused"


def test_new_weights_give_a_new_engine(tmp_path):
    model = make_tiny_model(tmp_path / "m", seed=3)
    frame = speech_like(0.02, seed=1)
    before = StreamDecoder(model).decode(StreamEncoder(model, 9).encode(frame))
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(0.5)
    after = StreamDecoder(model).decode(StreamEncoder(model, 9).encode(frame))
    assert not np.allclose(before, after)


def test_backend_names(tiny_model):
    assert resolve_backend("auto") == "onnxruntime"
    assert resolve_backend("eager", tiny_model) == "eager"
    with pytest.raises(ArgumentError, match="backend must be"):
        resolve_backend("tflite")
    with pytest.raises(ArgumentError, match="eager backend runs a torch Codec"):
        StreamEncoder(None, 6, backend="eager")  # the shipped engine has no torch modules


SPECTRAL = [dict(encoder="spectral", decoder="spectral", hop_size=320, transform=t, width=16,
                 encoder_blocks=1, decoder_blocks=2, dim=16, num_codebooks=18,
                 codebook_size=1024, code_dim=4) for t in ("stft", "mdct")]


@pytest.mark.parametrize("fields", [{}, *SPECTRAL], ids=["seanet", "stft", "mdct"])
def test_every_kind_exports_and_its_saved_graphs_equal_the_eager_step(tmp_path, fields):
    """The exported graphs are the modules' own step: same codes, same samples (and the same
    synthesis delay), for every registered kind, saved and loaded without torch's modules."""
    torch.manual_seed(0)
    model = build_codec(replace(TINY, **fields)).train()
    for _ in range(2):
        model(torch.randn(16, 1, 16000) * 0.1)
    save_model(model.eval(), tmp_path, graphs=True)
    model, engine = load_model(tmp_path), load_engine(tmp_path)
    assert (engine.model_id, engine.delay, engine.config) == \
        (model.model_id, model.delay, model.config)
    wav = speech_like(0.5, seed=3)
    k, hop = model.config.num_codebooks, model.hop
    calls = _frames_in_calls(len(wav) // hop)
    a = _encode(EngineEncoder(engine), wav, k, calls, hop)
    b = _encode(EagerEncoder(model), wav, k, calls, hop)
    assert (a != b).any(axis=0).mean() <= 0.05  # float near-ties only
    out = _decode(EngineDecoder(engine), b[:6], calls)
    ref = _decode(EagerDecoder(model), b[:6], calls)
    np.testing.assert_allclose(out, ref, atol=1e-4)
    offline = model.decoder(model.quantizer.decode(torch.from_numpy(b[None, :6])))
    np.testing.assert_allclose(ref, offline[0, 0].detach().numpy(), atol=1e-4)
    assert StreamDecoder(engine).delay == model.delay


def test_shipped_graphs_equal_the_modules_and_are_checked(shipped_model, tmp_path):
    import shutil
    engine = load_engine()
    assert engine.model_id == shipped_model.model_id
    wav = speech_like(1.0, seed=5)
    k, hop = shipped_model.config.num_codebooks, shipped_model.hop
    calls = _frames_in_calls(len(wav) // hop)
    a = _encode(EngineEncoder(engine), wav, k, calls, hop)
    b = _encode(EagerEncoder(shipped_model), wav, k, calls, hop)
    # The 8-bit layers round their inputs per block (codec/model/nn/int8.py), so where the two sum in
    # a different order an input can land one step apart; the residual search turns that into
    # flips at near-ties, more at the fine levels (1 s of this signal: level 0 none, 0.7-9% of
    # all 18 levels' codes), and the decoded frames differ below -40 dB (0.03-0.2% RMS measured)
    assert (a[0] == b[0]).all() and (a != b).mean() <= 0.15
    out = _decode(EngineDecoder(engine), b, calls)
    ref = _decode(EagerDecoder(shipped_model), b, calls)
    assert np.abs(out - ref).max() < 0.02
    assert np.sqrt(np.mean((out - ref) ** 2) / np.mean(ref ** 2)) < 0.01
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    data = bytearray((copy / "encoder18.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "encoder18.onnx").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="encoder18.onnx is corrupted"):
        StreamEncoder(load_engine(copy), 9)
    with pytest.raises(FormatError, match="encoder18.onnx is corrupted"):
        StreamEncoder(load_model(copy), 9)  # a Codec loaded from there uses its saved graphs
    (copy / "config.json").write_text((copy / "config.json").read_text().replace('"graphs"', '"x"'))
    with pytest.raises(FormatError, match="no runtime graphs.*export_graphs"):
        load_engine(copy)


def test_saved_graphs_are_not_used_once_the_weights_change(tmp_path):
    model = make_tiny_model(tmp_path / "a", seed=4)
    save_model(model, tmp_path / "b", graphs=True)
    model = load_model(tmp_path / "b")
    codes = EngineEncoder(engine_for(model)).codes(speech_like(0.02, seed=2), 3)
    before = EngineDecoder(engine_for(model)).samples(codes)
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(0.5)
    after = EngineDecoder(engine_for(model)).samples(codes)
    np.testing.assert_allclose(after, EagerDecoder(model).samples(codes), atol=1e-5)
    assert not np.allclose(before, after)


def test_the_output_gain_scales_every_decode_path_by_the_bitrate_reached(tmp_path):
    """``output_gain_db`` (one gain per bitrate, ``scripts/calibrate_level.py``) multiplies the
    decoder's output offline, in the eager step and in the saved graph, by the gain of the highest
    bitrate the codes reach (the lowest's below it); training from the model drops it."""
    from codec.train.build import initial_model

    torch.manual_seed(0)
    model = build_codec(replace(TINY, **SPECTRAL[0])).train()
    model(torch.randn(16, 1, 16000) * 0.1)
    save_model(model.eval(), tmp_path / "plain")
    plain = load_model(tmp_path / "plain")
    gains_db = (6.0, 3.0, -2.0, 1.5)  # at 1.5 / 3 / 6 / 9 kbps: 3 / 6 / 12 / 18 codebooks
    plain.config = replace(plain.config, output_gain_db=gains_db)
    save_model(plain, tmp_path / "gain", graphs=True)
    plain.config = replace(plain.config, output_gain_db=())
    gained, engine = load_model(tmp_path / "gain"), load_engine(tmp_path / "gain")
    assert gained.config.output_gain_db == gains_db and gained.model_id != plain.model_id
    codes = np.random.default_rng(1).integers(0, 1024, (18, 12))
    for k, db in ((2, 6.0), (3, 6.0), (5, 6.0), (6, 3.0), (11, 3.0), (12, -2.0), (18, 1.5)):
        ref = plain.decode(torch.from_numpy(codes[None, :k]))[0, 0].numpy() * 10 ** (db / 20)
        got = gained.decode(torch.from_numpy(codes[None, :k]))[0, 0].numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
        eager = _decode(EagerDecoder(gained), codes[:k], [(0, 12)])
        graph = _decode(EngineDecoder(engine), codes[:k], [(0, 5), (5, 12)])
        ungained = _decode(EagerDecoder(plain), codes[:k], [(0, 12)])
        np.testing.assert_allclose(eager, ungained * 10 ** (db / 20), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(graph, eager, atol=1e-5)
    assert initial_model(None, tmp_path / "gain").config.output_gain_db == ()
    with pytest.raises(ValueError, match="one gain per bitrate"):
        replace(TINY, output_gain_db=(1.0, 2.0))
    assert TINY.parse_fields(["output_gain_db=0.5,1,-1.25,2"]) == \
        {"output_gain_db": (0.5, 1.0, -1.25, 2.0)}
