"""Hostile audio through the shipped model, in memory and through the command line (the edge
cases in test_robustness.py run a tiny random model): the output is finite, within [-1, 1] and
exactly as long as the input (at 16 kHz, and at the input's own rate with --rate original), and
non-finite input is a one-line error that writes nothing."""

import numpy as np
import pytest
import soundfile as sf

import codec
from codec.__main__ import main

from conftest import SAMPLES

RATE = 16000


def speech(seconds: float = 1.0) -> np.ndarray:
    x, rate = sf.read(sorted(SAMPLES.glob("*.flac"))[0], dtype="float32", frames=int(seconds * RATE))
    assert rate == RATE
    return x


def signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    s = speech()
    return {
        "digital_silence": np.zeros(RATE, np.float32),
        "full_scale_white_noise": rng.uniform(-1, 1, RATE).astype(np.float32),
        "full_scale_square_wave": np.sign(np.sin(2 * np.pi * 440 * t + 0.1)).astype(np.float32),
        "dc_offset": (0.5 + 0.4 * s).astype(np.float32),
        "speech_at_-50_dBFS": (s / np.abs(s).max() * 10 ** (-50 / 20)).astype(np.float32),
        "not_a_whole_frame": s[:4321],
    }


@pytest.mark.parametrize("name", list(signals()))
def test_shipped_model_output_is_finite_in_range_and_as_long(shipped_model, name):
    x = signals()[name]
    out, rate = codec.decompress(codec.compress(x, RATE, 6, model=shipped_model), model=shipped_model)
    assert rate == RATE and out.dtype == np.float32 and out.shape == x.shape
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0


def square_wave(n: int, rate: int) -> np.ndarray:
    return np.sign(np.sin(2 * np.pi * 300 * np.arange(n) / rate + 0.1))


def test_cli_full_scale_square_wave(tmp_path, capsys):
    n, rate = 57_331, 44100  # 1.3 s, not a whole number of frames
    src, cdc, out = tmp_path / "square.wav", tmp_path / "square.cdc", tmp_path / "out.wav"
    sf.write(src, square_wave(n, rate), rate, subtype="FLOAT")  # +-1.0 exactly
    assert main(["encode", str(src), str(cdc), "--bitrate", "9"]) == 0
    assert main(["decode", str(cdc), str(out)]) == 0
    stereo = np.stack([square_wave(n, rate), -square_wave(n, rate)], axis=1) * 0.999
    sf.write(src, stereo, rate, subtype="PCM_16")
    assert main(["encode", str(src), str(cdc), "--force"]) == 0
    assert main(["decode", str(cdc), str(tmp_path / "orig.wav"), "--rate", "original"]) == 0
    capsys.readouterr()
    for path, length, out_rate, slack in [(out, int(n * RATE / rate + 0.5), RATE, 0),
                                          (tmp_path / "orig.wav", n, rate, 0)]:
        x, r = sf.read(path, dtype="float32")
        assert r == out_rate and x.ndim == 1 and abs(len(x) - length) <= slack, path.name
        assert np.isfinite(x).all() and np.abs(x).max() <= 1.0, path.name


def test_cli_decode_at_the_original_rate_is_as_long_as_the_input(tmp_path, capsys):
    n, rate = 57_331, 44100
    sf.write(tmp_path / "in.wav", square_wave(n, rate) * 0.5, rate, subtype="PCM_16")
    assert main(["encode", str(tmp_path / "in.wav"), str(tmp_path / "x.cdc")]) == 0
    assert main(["decode", str(tmp_path / "x.cdc"), str(tmp_path / "o.wav"), "--rate",
                 "original"]) == 0
    assert sf.info(tmp_path / "o.wav").frames == n


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_cli_non_finite_float_wav_is_a_one_line_error(tmp_path, capsys, bad):
    x = speech(0.5)
    x[777] = bad
    src, cdc = tmp_path / "bad.wav", tmp_path / "bad.cdc"
    sf.write(src, x, RATE, subtype="FLOAT")
    assert main(["encode", str(src), str(cdc)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("codec: error: ") and err.count("\n") == 1 and "NaN or infinite" in err
    assert not cdc.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]
