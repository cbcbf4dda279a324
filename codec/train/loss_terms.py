"""The training loss, driven by one table of weights (as DAC's ``lambdas``).

``loss_weights`` gives each term (its name is its train.csv column) its weight from the
``TrainConfig`` flags; ``LossTerms.table`` lists the functions that compute the terms, each with
the names of the terms it gives. A function runs only when one of its terms weighs something;
everything it gives is logged, and the total is the weighted sum of the terms computed. A new
loss is one weight in ``loss_weights`` and one function in the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import CodecConfig
from ..model.quantize import QuantizerOutput
from .adversary import Adversary
from .config import TrainConfig
from .losses import (CompressedSpectralLoss, MultiResolutionSpectralLoss,
                     TransformCoefficientLoss, level_loss)


def loss_weights(cfg: TrainConfig) -> dict[str, float]:
    """Each term's weight in the total. A term not listed (``adv/disc``) is logged only."""
    return {
        "mel/loss": 1.0,
        "stft/sc": cfg.stft_weight, "stft/logmag": cfg.stft_weight,  # recon_loss "mrstft"
        "cspec/mag": cfg.cmag_weight, "cspec/complex": cfg.cplx_weight,  # "compressed"
        "vq/commit": cfg.commit_weight,
        "level/loss": cfg.level_weight,
        "coef/mse": cfg.coef_weight,
        "adv/gen": cfg.adv_weight, "adv/feat": cfg.feat_weight,
    }


@dataclass
class Batch:
    """What the loss terms see of one training step."""

    wav: torch.Tensor                  # the input crops, cut to the output's length
    recon: torch.Tensor                # the model's output
    quantized: QuantizerOutput | None  # None while the quantizer is off (``ae_warmup``)
    codebooks: torch.Tensor            # each item's codebooks (its bitrate, quantizer dropout)
    step: int                          # the steps taken before this one


def reconstruction_loss(cfg: TrainConfig, model: CodecConfig) -> nn.Module:
    """``cfg.recon_loss``'s module: "mrstft" or "compressed" (``losses.py``)."""
    if cfg.recon_loss not in ("mrstft", "compressed"):
        raise ValueError(f"recon_loss must be 'mrstft' or 'compressed', not {cfg.recon_loss!r}")
    if cfg.recon_loss == "mrstft":
        if cfg.compile:
            raise ValueError("compile applies to recon_loss 'compressed' only")
        return MultiResolutionSpectralLoss(model.sample_rate)
    loss = CompressedSpectralLoss(model.sample_rate, tuple(m * model.hop for m in cfg.cspec_frames),
                                  weighting=cfg.cspec_weighting, erb_power=cfg.cspec_erb_power,
                                  erb_flat_hz=cfg.cspec_erb_flat_hz)
    return loss.compile() if cfg.compile else loss


class LossTerms:
    """The generator's loss terms and their weighted total (``__call__``)."""

    def __init__(self, cfg: TrainConfig, model: CodecConfig, device: torch.device,
                 adversary: Adversary | None = None):
        self.weights = loss_weights(cfg)
        self.reconstruction_loss = reconstruction_loss(cfg, model).to(device)
        self.coef_loss = TransformCoefficientLoss(model.transform, model.hop).to(device) \
            if self.weights["coef/mse"] else None
        # per-level commitment weights: the levels of the lowest bitrate times coarse_commit_weight
        self.commit_weights = torch.ones(model.num_codebooks, device=device)
        self.commit_weights[: model.codebooks_for(min(model.bitrates))] = cfg.coarse_commit_weight
        self.adversary, self.adv_start = adversary, cfg.adv_start
        # items trained with more codebooks than this get the adversarial terms
        self.adv_min_levels = model.codebooks_for(cfg.adv_above_kbps) if cfg.adv_above_kbps else 0
        self.table = [  # (function, the terms it gives), in train.csv's order
            (self.reconstruction, self.reconstruction_loss.TERMS),
            (self.commitment, ("vq/commit",)),
            (self.level, ("level/loss",)),
            (self.coefficients, TransformCoefficientLoss.TERMS),
            (self.adversarial, ("adv/gen", "adv/feat")),
        ]

    def __call__(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total to minimise, and every term computed (for the log)."""
        terms = {}
        for compute, names in self.table:
            if any(self.weights.get(name, 0.0) for name in names):
                terms.update(compute(batch))
        total = sum(self.weights[name] * value for name, value in terms.items()
                    if self.weights.get(name, 0.0))
        return total, terms

    def reconstruction(self, b: Batch) -> dict[str, torch.Tensor]:
        return self.reconstruction_loss(b.recon, b.wav)

    def commitment(self, b: Batch) -> dict[str, torch.Tensor]:
        """``vq/commit``: the levels' commitments, weighted per level; 0 while not quantizing."""
        q = b.quantized
        return {"vq/commit": (q.level_commits * self.commit_weights).mean() if q is not None
                else b.recon.new_zeros(())}

    def level(self, b: Batch) -> dict[str, torch.Tensor]:
        return {"level/loss": level_loss(b.recon, b.wav)}

    def coefficients(self, b: Batch) -> dict[str, torch.Tensor]:
        return self.coef_loss(b.recon, b.wav)

    def adversarial(self, b: Batch) -> dict[str, torch.Tensor]:
        """The adversary's step and terms, on the items above ``adv_above_kbps``, from
        ``adv_start`` on; none without an adversary (``adv_weight`` 0)."""
        chosen = b.codebooks > self.adv_min_levels
        if self.adversary is None or b.step < self.adv_start or not chosen.any():
            return {}
        return self.adversary(b.wav[chosen], b.recon[chosen])
