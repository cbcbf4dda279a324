"""The spectral decoder with a gain-shape head (CELT's split): per transform frame, the head
predicts the log level of each auditory band and a spectrum whose bands it then scales to those
levels, so the smooth envelope is one number per band and the fine structure within a band is
free of it.

Everything else (the blocks, the transform, the overlap-add, the streaming state, the delay) is
``SpectralDecoder``'s. Bands are contiguous runs of bins, about one ERB wide (Glasberg and
Moore), at least ``MIN_BINS`` bins each. Levels are RMS values of the compressed coefficients
(``spectral.compress``), so a band's gain acts on the same scale as the loss's compressed
magnitudes.
"""

from __future__ import annotations

import math

import torch

from .spectral import SpectralDecoder

MIN_BINS = 2        # the narrowest band, in bins
FLOOR = 1e-3        # added to a band's mean power before the shape is normalised by it


def erb_bands(bins: int, sample_rate: int) -> list[int]:
    """Band edges (bin indices, first 0, last ``bins``) of about one ERB each, from DC to
    Nyquist over ``bins`` equally spaced bins."""
    def erb_rate(hz: float) -> float:
        return 21.4 * math.log10(1 + 0.00437 * hz)

    hz_per_bin = sample_rate / 2 / (bins - 1)
    edges, start = [0], 0
    while start < bins:
        end = start + MIN_BINS
        while end < bins and erb_rate(end * hz_per_bin) - erb_rate(start * hz_per_bin) < 1:
            end += 1
        start = min(end, bins)
        edges.append(start)
    if edges[-1] - edges[-2] < MIN_BINS and len(edges) > 2:  # a short last band joins the one before
        del edges[-2]
    return edges


class EnvelopeSpectralDecoder(SpectralDecoder):
    """``SpectralDecoder`` whose head gives, per transform frame, a shape (the coefficients)
    and one log-RMS per band; the output coefficients are the shape normalised to unit RMS in
    each band, times the band's level."""

    def __init__(self, hop: int, dim: int, transform: str = "stft", width: int = 256,
                 blocks: int = 6, expansion: int = 2, kernel: int = 5, int8: bool = False, *,
                 sample_rate: int, window: int = 0, step: int = 0):
        window = window or hop
        bins = window // 2 + 1 if transform == "stft" else window // 2
        edges = erb_bands(bins, sample_rate)
        super().__init__(hop, dim, transform, width, blocks, expansion, kernel, int8,
                         extra_outputs=len(edges) - 1, window=window, step=step)
        member = torch.zeros(bins, len(edges) - 1)
        for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
            member[lo:hi, b] = 1.0
        self.register_buffer("band_mean", member / member.sum(0), persistent=False)  # bins->bands
        self.register_buffer("band_spread", member.t().contiguous(), persistent=False)
        self.bands = len(edges) - 1

    def coefficients(self, head: torch.Tensor) -> torch.Tensor:
        """Head output ``[B, F, per_frame * (coef + bands)]`` -> compressed coefficients
        ``[B, per_frame * F, coef]``."""
        per_frame = head.reshape(head.shape[0], -1, head.shape[-1] // self.per_frame)
        shape, log_level = per_frame[..., : -self.bands], per_frame[..., -self.bands:]
        pairs = self.transform.as_pairs(shape)              # [B, 2F, 2, bins] or [B, 2F, bins]
        power = pairs.pow(2).sum(-2) if self.transform.pairs else pairs.pow(2)
        band_rms = (power @ self.band_mean + FLOOR).sqrt()  # [B, 2F, bands]
        gain = (log_level.exp() / band_rms) @ self.band_spread  # [B, 2F, bins]
        scaled = pairs * gain.unsqueeze(-2) if self.transform.pairs else pairs * gain
        return scaled.flatten(-2) if self.transform.pairs else scaled
