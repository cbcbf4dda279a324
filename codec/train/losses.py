"""Reconstruction losses: multi-resolution log-mel and STFT distances.

One STFT per resolution feeds both the mel and the linear-magnitude terms. Every loss returns a
dict of named terms (``mel/loss``, ``stft/sc``, ``stft/logmag``) so the training loop can log them.
"""

from __future__ import annotations

import torch
from torch import nn
from torchaudio.functional import melscale_fbanks


class MultiResolutionSpectralLoss(nn.Module):
    """L1 log-mel distance and spectral convergence + log-magnitude L1, at several FFT sizes."""

    def __init__(self, sample_rate: int = 16000, fft_sizes=(256, 512, 1024, 2048),
                 n_mels=(32, 64, 80, 80), eps: float = 1e-5):
        super().__init__()
        self.fft_sizes, self.eps = tuple(fft_sizes), eps
        for n_fft, mels in zip(self.fft_sizes, n_mels):
            fb = melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, mels, sample_rate,
                                 norm="slaney", mel_scale="slaney")
            self.register_buffer(f"fb{n_fft}", fb, persistent=False)
            self.register_buffer(f"win{n_fft}", torch.hann_window(n_fft), persistent=False)

    def _mag(self, x: torch.Tensor, n_fft: int) -> torch.Tensor:
        spec = torch.stft(x, n_fft, n_fft // 4, window=getattr(self, f"win{n_fft}"),
                          return_complex=True)
        return spec.abs().clamp(min=self.eps).transpose(-1, -2)  # [B, frames, bins]

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, target = pred.reshape(-1, pred.shape[-1]).float(), target.reshape(
            -1, target.shape[-1]).float()
        mel = sc = logmag = pred.new_zeros(())
        for n_fft in self.fft_sizes:
            mp, mt = self._mag(pred, n_fft), self._mag(target, n_fft)
            fb = getattr(self, f"fb{n_fft}")
            mel = mel + (torch.log(mp @ fb + self.eps) - torch.log(mt @ fb + self.eps)).abs().mean()
            sc = sc + torch.linalg.norm(mp - mt) / torch.linalg.norm(mt).clamp(min=self.eps)
            logmag = logmag + (mp.log() - mt.log()).abs().mean()
        n = len(self.fft_sizes)
        return {"mel/loss": mel / n, "stft/sc": sc / n, "stft/logmag": logmag / n}
