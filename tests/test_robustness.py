"""Hostile and unusual audio: it either works (finite, in [-1, 1], right length) or says why."""

import numpy as np
import pytest
import soundfile as sf

from codec.errors import AudioInputError
from codec.runtime import api

from conftest import speech_like

RATE = 16000


def signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    speech = speech_like(1.0)
    return {
        "silence": np.zeros(RATE, np.float32),
        "full_scale_noise": rng.uniform(-1, 1, RATE).astype(np.float32),
        "full_scale_square": np.sign(np.sin(2 * np.pi * 200 * t)).astype(np.float32),
        "dc_offset": (0.5 + 0.1 * speech).astype(np.float32),
        "quiet_speech_-50dBFS": (speech / np.abs(speech).max() * 10 ** (-50 / 20)).astype(np.float32),
        "clipping_input": np.clip(speech * 20, -1, 1).astype(np.float32),
        "over_full_scale_float": (speech * 8).astype(np.float32),
    }


@pytest.mark.parametrize("name", list(signals()))
@pytest.mark.parametrize("kbps", [1.5, 9])
def test_extreme_signals_decode_sane(tiny_model, name, kbps):
    x = signals()[name]
    out, rate = api.decompress(api.compress(x, RATE, kbps, model=tiny_model), model=tiny_model)
    assert rate == RATE and out.shape == x.shape
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_a_clear_error(tiny_model, bad):
    x = speech_like(0.5)
    x[1234] = bad
    with pytest.raises(AudioInputError, match="NaN or infinite"):
        api.compress(x, RATE, 6, model=tiny_model)


FILE_KINDS = [("wav", "PCM_U8"), ("wav", "PCM_16"), ("wav", "PCM_24"), ("wav", "FLOAT"),
              ("flac", "PCM_16"), ("flac", "PCM_24"), ("ogg", "VORBIS")]


@pytest.mark.parametrize("ext,subtype", FILE_KINDS)
def test_file_kinds(tmp_path, tiny_model, ext, subtype):
    src = tmp_path / f"in.{ext}"
    sf.write(src, speech_like(0.7), RATE, subtype=subtype)
    result = api.encode_file(src, tmp_path / "x.cdc", 6, model=tiny_model)
    assert result.header.num_samples == sf.info(src).frames
    api.decode_file(tmp_path / "x.cdc", tmp_path / "y.wav", model=tiny_model)
    out, rate = sf.read(tmp_path / "y.wav")
    assert rate == RATE and len(out) == sf.info(src).frames


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_rates_and_channels(tmp_path, tiny_model, rate, channels):
    n = int(0.5 * rate) + 3
    data = np.tile(speech_like(0.6, rate)[:n, None], (1, channels))
    src = tmp_path / "in.wav"
    sf.write(src, data, rate, subtype="PCM_16")
    api.encode_file(src, tmp_path / "x.cdc", 3, model=tiny_model)
    api.decode_file(tmp_path / "x.cdc", tmp_path / "y.wav", model=tiny_model)
    out, out_rate = sf.read(tmp_path / "y.wav")
    assert out_rate == RATE and out.ndim == 1 and len(out) == int(n * RATE / rate + 0.5)
    api.decode_file(tmp_path / "x.cdc", tmp_path / "z.wav", rate="original", model=tiny_model)
    assert sf.info(tmp_path / "z.wav").samplerate == rate


@pytest.mark.parametrize("n", [0, 1, 100, 319])
def test_empty_and_shorter_than_a_frame(tmp_path, tiny_model, n):
    src = tmp_path / "in.wav"
    sf.write(src, np.zeros(n, np.float32), RATE, subtype="PCM_16")
    api.encode_file(src, tmp_path / "x.cdc", 6, model=tiny_model)
    api.decode_file(tmp_path / "x.cdc", tmp_path / "y.wav", model=tiny_model)
    assert sf.info(tmp_path / "y.wav").frames == n


def test_non_finite_float_wav_file(tmp_path, tiny_model):
    x = speech_like(0.5)
    x[10] = np.inf
    src = tmp_path / "inf.wav"
    sf.write(src, x, RATE, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="NaN or infinite"):
        api.encode_file(src, tmp_path / "x.cdc", 6, model=tiny_model)
    assert not (tmp_path / "x.cdc").exists()


@pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 10, b"", b"RIFF\x00\x00"])
def test_not_audio_is_a_clear_error(tmp_path, tiny_model, content):
    src = tmp_path / "fake.wav"
    src.write_bytes(content)
    with pytest.raises(AudioInputError, match="cannot read audio"):
        api.encode_file(src, tmp_path / "x.cdc", 6, model=tiny_model)


def test_interrupted_decode_leaves_no_partial_file(tmp_path, tiny_model, monkeypatch):
    src = tmp_path / "in.wav"
    sf.write(src, speech_like(1.0), RATE)
    api.encode_file(src, tmp_path / "x.cdc", 6, model=tiny_model)
    import codec.runtime.api as api_module

    def broken(f, blocks, rate, *fmt):
        f.write(b"RIFF partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(api_module, "write_audio_blocks", broken)
    with pytest.raises(KeyboardInterrupt):
        api.decode_file(tmp_path / "x.cdc", tmp_path / "out.wav", model=tiny_model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "x.cdc"]
