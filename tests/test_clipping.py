"""Loud input: speech at full scale keeps its level; input beyond full scale or clipped before it
reached the codec is said once (a ``ClippingWarning``), on the input's own samples."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf

import codec
from codec.runtime.clipping import ClipCheck

from conftest import ROOT

SAMPLE = ROOT / "samples" / "male_201.flac"


def level_db(x) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)))


@pytest.fixture(scope="module")
def speech():
    wav, rate = sf.read(SAMPLE, dtype="float32")
    return wav / np.abs(wav).max(), rate  # peaks at full scale


def test_loud_speech_keeps_its_level(speech):
    wav, rate = speech
    with warnings.catch_warnings():
        warnings.simplefilter("error", codec.ClippingWarning)  # nothing to say
        out, _ = codec.decompress(codec.compress(wav * 0.999, rate), rate="original")
    assert abs(level_db(out) - level_db(wav * 0.999)) < 1.0


def test_beyond_full_scale_or_clipped_input_is_said_once(speech, tmp_path):
    wav, rate = speech
    with pytest.warns(codec.ClippingWarning) as said:
        codec.compress(wav * 4, rate)  # float at 4x full scale
    assert len(said) == 1
    assert str(said[0].message).startswith("wav: ") and "beyond full scale (peak +12.0 dBFS" \
        in str(said[0].message)
    clipped = np.clip(wav * 31.6, -1, 1)  # sox gain 30
    sf.write(tmp_path / "loud.wav", clipped, rate, subtype="PCM_16")
    with pytest.warns(codec.ClippingWarning, match="runs of 3 or more samples at full") as said:
        codec.encode_file(tmp_path / "loud.wav", tmp_path / "loud.cdc")
    assert len(said) == 1 and str(said[0].message).startswith(f"{tmp_path / 'loud.wav'}: ")
    stereo = np.stack([clipped, wav * 0.5], axis=1)  # one channel clipped: seen before downmix
    with pytest.warns(codec.ClippingWarning, match="at full scale"):
        codec.compress(stereo, rate)


def test_runs_and_isolated_peaks():
    peaks = np.zeros(100, np.float32)
    peaks[[10, 20, 21, 50]] = [1.0, -1.0, -1.0, 32767 / 32768]  # a normalised signal's peaks
    check = ClipCheck()
    check.push(peaks)
    assert (check.runs, check.beyond, check.message("x")) == (0, 0, None)
    peaks[60:63] = 1.0  # three in a row: clipped
    peaks[[70, 71, 72]] = [1.0, -1.0, 1.0]  # a full-scale square wave at half the rate: no run
    peaks[[80, 81, 82]] = [1.0, 1.5, 1.0]  # beyond, not a run at full scale
    check.push(np.stack([peaks, np.zeros_like(peaks)], axis=1))
    assert (check.runs, check.beyond) == (1, 1)
    assert check.message("x") == ("x: 1 sample beyond full scale (peak +3.5 dBFS; the codec "
                                  "clips it) and 1 run of 3 or more samples at full scale "
                                  "(clipped before it reached the codec): clipped speech "
                                  "decodes quieter and distorted; lower the input's level")


def test_the_command_says_it_once_on_stderr(speech, tmp_path):
    wav, rate = speech
    sf.write(tmp_path / "x4.wav", wav[:rate] * 4, rate, subtype="FLOAT")
    p = subprocess.run([sys.executable, "-m", "codec", "-q", "encode", str(tmp_path / "x4.wav"),
                        str(tmp_path / "x4.cdc")], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr.count("beyond full scale") == 1, p.stderr
