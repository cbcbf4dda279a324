"""The diagnosis scripts' arithmetic (``scripts/band_errors.py``) on signals whose answer is
known: a copy scores no error, a half-amplitude copy -6 dB of level with a perfect envelope, and
a copy whose low band is delayed loses complex SNR there but keeps its magnitudes."""

from __future__ import annotations

import sys

import numpy as np

from conftest import ROOT, speech_like

sys.path.insert(0, str(ROOT / "scripts"))
from band_errors import BANDS, band_errors  # noqa: E402


def test_band_errors_of_known_distortions():
    rate = 16000
    x = speech_like(2.0, rate, seed=1).astype(np.float64)
    same = band_errors(x, x.copy(), rate)
    assert np.allclose(same[:, 0], 0) and (same[:, 1:3] > 100).all() and np.allclose(same[:, 3], 1)
    half = band_errors(x, 0.5 * x, rate)
    assert np.allclose(half[:, 0], 20 * np.log10(0.5), atol=1e-6)
    assert np.allclose(half[:, 2], 20 * np.log10(2), atol=1e-6) and np.allclose(half[:, 3], 1)
    # the band below 350 Hz moved by 2 ms: its phase is wrong, its magnitudes nearly right
    spec = np.fft.rfft(x)
    freq = np.fft.rfftfreq(len(x), 1 / rate)
    low = freq < BANDS[0][1]
    spec[low] *= np.exp(-2j * np.pi * freq[low] * 0.002)
    shifted = band_errors(x, np.fft.irfft(spec, len(x)), rate)
    assert shifted[0, 1] < 10 < shifted[0, 2] and (shifted[1:, 1] > 15).all()
