"""Adversarial training: multi-period waveform and multi-resolution STFT discriminators.

As in HiFi-GAN (periods), EnCodec / DAC (complex STFT at several resolutions): each
sub-discriminator returns its logits and its intermediate feature maps; the generator is trained
with a hinge loss and an L1 feature-matching loss (``adv/gen``, ``adv/feat``), the
discriminators with the hinge loss (``adv/disc``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

Output = tuple[torch.Tensor, list[torch.Tensor]]  # logits, feature maps


class PeriodDiscriminator(nn.Module):
    """Looks at the waveform folded into ``period`` columns (2-D convs along time)."""

    def __init__(self, period: int, channels=(16, 64, 128)):
        super().__init__()
        self.period = period
        layers, c_in = [], 1
        for c in channels:
            layers.append(weight_norm(nn.Conv2d(c_in, c, (5, 1), (3, 1), padding=(2, 0))))
            c_in = c
        layers.append(weight_norm(nn.Conv2d(c_in, c_in, (5, 1), 1, padding=(2, 0))))
        self.layers = nn.ModuleList(layers)
        self.out = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> Output:
        b, _, t = x.shape
        x = F.pad(x, (0, -t % self.period), mode="reflect" if t > self.period else "constant")
        x = x.view(b, 1, -1, self.period)
        feats = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.1)
            feats.append(x)
        return self.out(x), feats


class STFTDiscriminator(nn.Module):
    """2-D convs over the real and imaginary parts of one STFT resolution."""

    def __init__(self, n_fft: int, channels: int = 32, hop: int = 0, first_stride: int = 1):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop or n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        c = channels
        self.layers = nn.ModuleList([
            weight_norm(nn.Conv2d(2, c, (3, 9), (1, first_stride), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 9), (1, 2), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 9), (1, 2), padding=(1, 4))),
            weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
        ])
        self.out = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: torch.Tensor) -> Output:
        spec = torch.stft(x.squeeze(1).float(), self.n_fft, self.hop, window=self.window,
                          return_complex=True)
        x = torch.stack([spec.real, spec.imag], 1).transpose(2, 3)  # [B, 2, frames, bins]
        feats = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.1)
            feats.append(x)
        return self.out(x), feats


class Discriminators(nn.Module):
    """The full set: HiFi-GAN periods and three STFT resolutions."""

    def __init__(self, periods=(2, 3, 5, 7, 11), fft_sizes=(512, 1024, 2048)):
        super().__init__()
        self.subs = nn.ModuleList([PeriodDiscriminator(p) for p in periods] +
                                  [STFTDiscriminator(n) for n in fft_sizes])

    def forward(self, x: torch.Tensor) -> list[Output]:
        return [d(x) for d in self.subs]


def discriminator_loss(real: list[Output], fake: list[Output]) -> torch.Tensor:
    """Hinge loss: real logits pushed above +1, generated ones below -1."""
    loss = sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for (r, _), (f, _) in zip(real, fake))
    return loss / len(real)


def generator_losses(real: list[Output], fake: list[Output]) -> dict[str, torch.Tensor]:
    """``adv/gen`` (hinge) and ``adv/feat`` (L1 between feature maps, relative to the real ones)."""
    adv = sum(F.relu(1 - f).mean() for f, _ in fake) / len(fake)
    feat, n = 0.0, 0
    for (_, rf), (_, ff) in zip(real, fake):
        for r, f in zip(rf, ff):
            feat = feat + (r.detach() - f).abs().mean() / (r.detach().abs().mean() + 1e-5)
            n += 1
    return {"adv/gen": adv, "adv/feat": feat / n}


class CheapSpectralDiscriminator(Discriminators):
    """One STFT resolution (512 / 256), 16 channels, every layer strided along frequency: about
    55 M multiply-adds per second of audio, a fraction of the full set, for CPU training."""

    def __init__(self):
        nn.Module.__init__(self)
        self.subs = nn.ModuleList([STFTDiscriminator(512, channels=16, hop=256, first_stride=2)])


class MultiSpectralDiscriminator(Discriminators):
    """The cheap one at three resolutions (256 / 512 / 1024 points, hop half a window): about
    three times its cost, a finer time and a finer frequency view beside its one."""

    def __init__(self, fft_sizes=(256, 512, 1024)):
        nn.Module.__init__(self)
        self.subs = nn.ModuleList([STFTDiscriminator(n, channels=16, hop=n // 2, first_stride=2)
                                   for n in fft_sizes])


DISCRIMINATORS = {"full": Discriminators, "cheap": CheapSpectralDiscriminator,
                  "multi": MultiSpectralDiscriminator}
