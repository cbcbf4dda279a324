"""Held-out scores at each evaluation, and ``valid/select``, the figure a run keeps its best
model by (lower is better).

Which bitrates get which scores follows the model's listed bitrates (``scored_bitrates``): the
log-mel distance at each; STOI (when ``pystoi`` is installed) at the lowest, where a model that
gains at the higher ones can lose unseen; WB-PESQ (when ``pesq`` is installed), SI-SDR and
waveform correlation at those between the lowest and the highest, and selection on the highest of
those: for the shipped 1.5 / 3 / 6 / 9 kbps, WB-PESQ at 3 and 6 kbps, selection at 6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..model import Codec


@dataclass(frozen=True)
class ScoredBitrates:
    stoi: float                 # STOI here
    quality: tuple[float, ...]  # WB-PESQ, SI-SDR and correlation here
    select: float               # valid/select from here


def scored_bitrates(bitrates: tuple[float, ...]) -> ScoredBitrates:
    """STOI at the lowest bitrate; the quality scores at those between the lowest and the
    highest (every one when there are fewer than three); selection at the highest of these."""
    ordered = sorted(bitrates)
    quality = tuple(ordered[1:-1]) if len(ordered) > 2 else tuple(ordered)
    return ScoredBitrates(stoi=ordered[0], quality=quality, select=quality[-1])


class Validation:
    """Scores a model on fixed held-out crops. A run that never quantizes (``latent``: its
    ``ae_warmup`` is 1) is scored on its latent decoded unquantized (``@latent``; the codebooks
    are untrained) and selected on its WB-PESQ there."""

    def __init__(self, crops: torch.Tensor, latent: bool, device: torch.device):
        self.crops, self.latent, self.device = crops, latent, device
        self.refs = [w[0].numpy() for w in crops]

    @torch.no_grad()
    def __call__(self, model: Codec) -> dict[str, float]:
        """The scores, named ``valid/<score>@<bitrate or latent>``, and ``valid/select``: minus
        WB-PESQ where it was scored, else the log-mel distance."""
        model.eval()
        wav = self.crops.to(self.device)
        if self.latent:
            recon = model.decode_latent(model.latent(wav))[..., : wav.shape[-1]]
            out = scores(self.refs, recon.cpu(), "latent", stoi=True, pesq=True)
            key = "latent"
        else:
            plan, out = scored_bitrates(model.config.bitrates), {}
            for kbps in model.config.bitrates:
                recon = model.decode(model.encode(wav, model.config.codebooks_for(kbps)),
                                     wav.shape[-1]).cpu()
                out.update(scores(self.refs, recon, f"{kbps:g}", stoi=kbps == plan.stoi,
                                  pesq=kbps in plan.quality))
            key = f"{plan.select:g}"
        out["valid/select"] = -out[f"valid/pesq@{key}"] if f"valid/pesq@{key}" in out \
            else out[f"valid/log_mel@{key}"]
        return out


def scores(refs: list[np.ndarray], recon: torch.Tensor, name: str, stoi: bool,
           pesq: bool) -> dict[str, float]:
    """Log-mel distance; STOI if ``stoi``; WB-PESQ, SI-SDR and correlation if ``pesq`` (STOI and
    WB-PESQ when their packages are installed)."""
    from ..evaluation.metrics import log_mel_distance, si_sdr, stoi as stoi_of, wb_pesq
    degs = [r[0].numpy() for r in recon]
    out = {f"valid/log_mel@{name}": float(np.mean(
        [log_mel_distance(r, d) for r, d in zip(refs, degs)]))}
    if stoi:
        intelligibility = [stoi_of(r, d) for r, d in zip(refs, degs)]
        if all(v is not None for v in intelligibility):
            out[f"valid/stoi@{name}"] = float(np.mean(intelligibility))
    if pesq:
        quality = [wb_pesq(r, d) for r, d in zip(refs, degs)]
        if all(p is not None for p in quality):
            out[f"valid/pesq@{name}"] = float(np.mean(quality))
        out[f"valid/si_sdr@{name}"] = float(np.mean([si_sdr(r, d) for r, d in zip(refs, degs)]))
        out[f"valid/corr@{name}"] = float(np.mean(
            [np.corrcoef(r, d)[0, 1] if d.std() > 0 else 0.0 for r, d in zip(refs, degs)]))
    return out
