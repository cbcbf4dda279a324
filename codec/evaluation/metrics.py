"""Objective speech quality metrics for wideband (``SAMPLE_RATE``) mono signals.

* :func:`log_mel_distance`: mean absolute difference of log10 mel spectrograms (torch/torchaudio
  only, always available; lower is better, 0 for identical signals).
* :func:`si_sdr`: scale-invariant signal-to-distortion ratio in dB (numpy; higher is better).
* :func:`wb_pesq`: wideband PESQ (ITU-T P.862.2, MOS-LQO 1.04..4.64) via the optional ``pesq``
  package; ``None`` when it is missing or the reference has no speech.
* :func:`stoi`: short-time objective intelligibility (0..1) via the optional ``pystoi`` package;
  ``None`` when it is missing.
* :func:`level_difference_db`: output RMS level minus input RMS level in dB (negative: quieter).

Every metric takes ``(ref, deg)`` and first calls :func:`align`, which only trims both signals to
the shorter length: the codecs compared here are time-aligned, so there is no lag search.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 16000  # wideband PESQ's rate; the peers and all scores use it
MEL_FLOOR = 1e-5
OPTIONAL = {"pesq": "WB-PESQ", "pystoi": "STOI"}  # the eval extra's package of each metric


def missing_metrics_note() -> str | None:
    """What to install for the metrics that are ``None`` here (their package is missing), in
    one line; ``None`` when every metric is available."""
    missing = [(pkg, name) for pkg, name in OPTIONAL.items()
               if importlib.util.find_spec(pkg) is None]
    if not missing:
        return None
    return (f"{' and '.join(n for _, n in missing)} n/a: {', '.join(p for p, _ in missing)} not "
            "installed (pip install -e '.[eval]' in the clone)")


def align(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both signals as 1-D float64 arrays trimmed to the shorter of the two lengths."""
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    deg = np.asarray(deg, dtype=np.float64).reshape(-1)
    n = min(len(ref), len(deg))
    return ref[:n], deg[:n]


@functools.lru_cache(maxsize=4)
def _mel_transform(sample_rate: int) -> torchaudio.transforms.MelSpectrogram:
    # Magnitude (power=1) mel spectrogram: 80 mels, 1024-point FFT, hop 256.
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=1024, hop_length=256, n_mels=80, power=1.0
    )


def log_mel_distance(ref: np.ndarray, deg: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Mean absolute difference of the log10 magnitude mel spectrograms (80 mels, n_fft 1024,
    hop 256), each clamped below at 1e-5 before the log."""
    ref, deg = align(ref, deg)
    x = torch.from_numpy(np.stack([ref, deg])).float()
    with torch.no_grad():
        mel = _mel_transform(sample_rate)(x).clamp_min(MEL_FLOOR).log10()
    return float((mel[0] - mel[1]).abs().mean())


def si_sdr(ref: np.ndarray, deg: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB, after removing each signal's mean."""
    ref, deg = align(ref, deg)
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    target = (np.dot(deg, ref) / (np.dot(ref, ref) + eps)) * ref
    noise = deg - target
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


def rms_db(x: np.ndarray) -> float:
    """RMS level in dB (relative to full scale 1.0 for a square wave)."""
    return float(10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def level_difference_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """The decoded signal's RMS level minus the reference's, in dB (negative: quieter)."""
    ref, deg = align(ref, deg)
    return rms_db(deg) - rms_db(ref)


def wb_pesq(ref: np.ndarray, deg: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float | None:
    """Wideband PESQ MOS-LQO at ``SAMPLE_RATE``, or ``None`` without the ``pesq`` package or when PESQ
    finds no utterance in the reference."""
    try:
        import pesq
    except ImportError:
        return None
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"wideband PESQ needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    ref, deg = align(ref, deg)
    try:
        return float(pesq.pesq(sample_rate, ref, deg, "wb"))
    except pesq.NoUtterancesError:
        return None


def stoi(ref: np.ndarray, deg: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float | None:
    """STOI (not extended), or ``None`` without the ``pystoi`` package."""
    try:
        import pystoi
    except ImportError:
        return None
    ref, deg = align(ref, deg)
    return float(pystoi.stoi(ref, deg, sample_rate, extended=False))


@dataclass
class Scores:
    """All metrics for one (reference, decoded) pair; ``None`` where a metric is unavailable."""

    pesq: float | None
    stoi: float | None
    si_sdr: float
    log_mel: float
    level_db: float  # level_difference_db

    def as_dict(self) -> dict:
        return asdict(self)


def score(ref: np.ndarray, deg: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Scores:
    """Every metric at once (the signals are aligned once, then each metric is computed)."""
    ref, deg = align(ref, deg)
    return Scores(
        pesq=wb_pesq(ref, deg, sample_rate),
        stoi=stoi(ref, deg, sample_rate),
        si_sdr=si_sdr(ref, deg),
        log_mel=log_mel_distance(ref, deg, sample_rate),
        level_db=level_difference_db(ref, deg),
    )
