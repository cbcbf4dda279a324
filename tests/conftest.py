"""Shared fixtures: a tiny random model for unit tests, the shipped model for quality checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codec.model import CodecConfig, build_codec, load_model, save_model

torch.set_num_threads(1)  # the suite runs beside other work on small machines

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"

# the shipped architecture, narrower (codebooks searched in 4 of 16 latent dimensions)
TINY = CodecConfig(channels=8, dim=16, num_codebooks=18, codebook_size=1024, code_dim=4)


def make_tiny_model(directory: Path, seed: int = 0):
    """A small random model whose codebooks were initialised on noise, saved and reloaded."""
    torch.manual_seed(seed)
    m = build_codec(TINY)
    m.train()
    for _ in range(3):
        m(torch.randn(16, 1, 16000) * 0.1)
    save_model(m.eval(), directory)
    return load_model(directory)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def shipped_model():
    import codec
    return codec.load_model()


def speech_like(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A deterministic voiced-speech-like test signal: harmonics of a gliding pitch, syllable AM."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wav = sum(np.sin(k * phase) / k for k in range(1, 20) if k * 150 < sample_rate / 2)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    wav = wav * env + 0.01 * rng.standard_normal(len(t))
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


needs_shared = pytest.mark.skipif(not (SHARED / "data").exists(),
                                  reason="needs ../shared/data (CI and developers only)")
