"""Reconstruction losses: multi-resolution log-mel and STFT distances, compressed spectra, the
level error and a spectral kind's transform coefficients.

One STFT per resolution feeds both the mel and the linear-magnitude terms. Every loss returns a
dict of named terms (``mel/loss``, ``stft/sc``, ``stft/logmag``, ...; a class's ``TERMS``), the
train.csv columns; ``loss_terms.py`` weighs them into the training loss.
"""

from __future__ import annotations

import torch
from torch import nn
from torchaudio.functional import melscale_fbanks

from ..runtime.store import shipped_config


class MultiResolutionSpectralLoss(nn.Module):
    """L1 log-mel distance and spectral convergence + log-magnitude L1, at several FFT sizes."""

    TERMS = ("mel/loss", "stft/sc", "stft/logmag")

    def __init__(self, sample_rate: int, fft_sizes=(256, 512, 1024, 2048),
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


class CompressedSpectralLoss(nn.Module):
    """Power-law compressed spectra at several STFT resolutions (as ESC / MP-SENet).

    ``cspec/mag``: MSE between ``|Y|^c`` and ``|X|^c``; ``cspec/complex``: MSE between
    ``|X|^c e^{i arg Y}`` and ``|X|^c e^{i arg X}``: the compressed complex MSE with the target's
    magnitudes, so it scores the phase alone. (The plain complex MSE also pulls magnitudes towards
    zero wherever the phase is uncertain, by up to half in the compressed domain, which is
    -10 dB: the quiet output of an earlier bake-off.) Each is divided by the target's compressed
    energy per item, so a silent output scores 1 whatever the level.
    ``mel/loss``: the L1 log-mel distance from the same STFTs (one STFT per resolution serves
    all three terms, half the cost of a separate mel loss).

    ``weighting`` of the bins in the two MSE terms: ``"linear"``, all alike (the bins below
    350 Hz are 4 % of them); ``"erb"``, each bin by ``1 / ERB(f)`` (Glasberg and Moore's
    equivalent rectangular bandwidth), scaled to a mean of 1: every auditory band weighs about
    the same, so the voice's fundamental and first harmonics count as much as the bands above.
    ``erb_power`` above 1 (``1 / ERB(f) ** erb_power``) tilts it further towards the low bands.
    ``erb_flat_hz`` > 0 holds the ERB weight at its value there for all bins above it, so the
    bands from there up (most of the bins) weigh alike and are not starved by the tilt.
    ``fft_sizes`` by default: 1, 2 and 4 frames of the shipped model.
    """

    TERMS = ("cspec/mag", "cspec/complex", "mel/loss")

    def __init__(self, sample_rate: int, fft_sizes=None,
                 n_mels=(40, 64, 80, 128, 160), power: float = 0.3, eps: float = 1e-7,
                 weighting: str = "linear", erb_power: float = 1.0,
                 erb_flat_hz: float = 0.0):
        super().__init__()
        if weighting not in ("linear", "erb"):
            raise ValueError(f"weighting must be 'linear' or 'erb', not {weighting!r}")
        if fft_sizes is None:
            fft_sizes = tuple(m * shipped_config().hop for m in (1, 2, 4))
        if len(fft_sizes) > len(n_mels):
            raise ValueError(f"{len(fft_sizes)} STFT sizes but mel band counts for {len(n_mels)}")
        self.fft_sizes, self.power, self.eps = tuple(fft_sizes), power, eps
        for n_fft, mels in zip(self.fft_sizes, n_mels):
            self.register_buffer(f"win{n_fft}", torch.hann_window(n_fft), persistent=False)
            fb = melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, mels, sample_rate,
                                 norm="slaney", mel_scale="slaney")
            self.register_buffer(f"fb{n_fft}", fb, persistent=False)
            f = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
            if weighting == "erb":
                f = f.clamp(max=erb_flat_hz) if erb_flat_hz > 0 else f
                w = (24.7 * (4.37 * f / 1000 + 1)) ** -erb_power
            else:
                w = torch.ones_like(f)
            self.register_buffer(f"bw{n_fft}", (w / w.mean())[:, None], persistent=False)

    def compile(self) -> "CompressedSpectralLoss":
        """Fuse the element-wise work of each resolution (``compressed_terms``) with
        ``torch.compile``: about 30 operations on three million values per signal and step,
        forward and backward, become a few loops. The STFTs stay as they are."""
        import torch._inductor.config as inductor
        inductor.compile_threads = 1  # in this process: its CPU time counts, as a step's does
        self._terms = torch.compile(compressed_terms, dynamic=False)
        return self

    def _stft(self, x: torch.Tensor, n_fft: int) -> torch.Tensor:
        """``[B, bins, frames, 2]``: real and imaginary parts."""
        return torch.view_as_real(torch.stft(x, n_fft, n_fft // 4, return_complex=True,
                                             window=getattr(self, f"win{n_fft}")))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, target = pred.reshape(-1, pred.shape[-1]).float(), target.reshape(
            -1, target.shape[-1]).float()
        terms = getattr(self, "_terms", compressed_terms)
        mag = cplx = mel = pred.new_zeros(())
        for n_fft in self.fft_sizes:
            with torch.no_grad():
                target_spec = self._stft(target, n_fft)
            m, c, l = terms(self._stft(pred, n_fft), target_spec, getattr(self, f"bw{n_fft}"),
                            getattr(self, f"fb{n_fft}"), self.power, self.eps)
            mel, mag, cplx = mel + l, mag + m, cplx + c
        n = len(self.fft_sizes)
        return {"cspec/mag": mag / n, "cspec/complex": cplx / n, "mel/loss": mel / n}


def compressed_terms(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                     mel_bank: torch.Tensor, power: float, eps: float
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``CompressedSpectralLoss``'s three terms at one resolution, from STFTs as real pairs
    ``[B, bins, frames, 2]``; ``weight`` ``[bins, 1]``. Real arithmetic only, so that
    ``torch.compile`` can fuse it: with ``P = |X|^2`` (at least ``eps^2``), the magnitude is
    ``sqrt(P)``, the compressed one ``P^(c/2)``, and the unit phasor ``X / sqrt(P)``."""
    pp = pred.pow(2).sum(-1).clamp(min=eps * eps)
    pt = target.pow(2).sum(-1).clamp(min=eps * eps)
    inv_p, inv_t = pp.rsqrt(), pt.rsqrt()
    mp, mt = pp.pow(power / 2), pt.pow(power / 2)
    lp = torch.log((pp * inv_p).transpose(-1, -2) @ mel_bank + 1e-5)
    lt = torch.log((pt * inv_t).transpose(-1, -2) @ mel_bank + 1e-5)
    energy = (weight * mt.pow(2)).sum((-1, -2)).clamp(min=eps)
    mag = ((weight * (mp - mt).pow(2)).sum((-1, -2)) / energy).mean()
    phase = (pred * inv_p[..., None] - target * inv_t[..., None]).pow(2).sum(-1)
    cplx = ((weight * mt.pow(2) * phase).sum((-1, -2)) / energy).mean()
    return mag, cplx, (lp - lt).abs().mean()


def level_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``level/loss``: |ln(mean pred^2 / mean target^2)| per item, averaged: the item's level
    error in nepers of power (1.0 is 4.3 dB). The spectral terms favour a quiet output wherever
    the decoder is unsure (the compressed-magnitude MSE and the log-mel L1 both sit below the
    mean power), so this term pulls the overall level back to the input's."""
    pred, target = pred.reshape(-1, pred.shape[-1]).float(), target.reshape(
        -1, target.shape[-1]).float()
    ratio = (pred.pow(2).mean(-1) + eps) / (target.pow(2).mean(-1) + eps)
    return ratio.log().abs().mean()


class TransformCoefficientLoss(nn.Module):
    """``coef/mse``: MSE of the compressed coefficients of a codec ``Transform`` (the MDCT is
    orthogonal, so the output waveform's coefficients are exactly what the decoder predicted),
    divided by the target's per item."""

    TERMS = ("coef/mse",)

    def __init__(self, kind: str, window: int):
        super().__init__()
        from ..model.nn.spectral import Transform
        self.transform = Transform(kind, window)

    def _coefficients(self, x: torch.Tensor) -> torch.Tensor:
        half = self.transform.window // 2
        frames = nn.functional.pad(x.reshape(-1, x.shape[-1]).float(), (half, 0)).unfold(
            -1, self.transform.window, half)
        return self.transform.compress(self.transform.analysis(frames))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        cp, ct = self._coefficients(pred), self._coefficients(target)
        energy = ct.pow(2).sum((-1, -2)).clamp(min=1e-7)
        return {"coef/mse": ((cp - ct).pow(2).sum((-1, -2)) / energy).mean()}
