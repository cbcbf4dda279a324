"""The adversary of adversarial training: the discriminators (``discriminators.py``), their
optimizer, and their step against the generator's output."""

from __future__ import annotations

import torch

from .build import autocast, distributed
from .config import TrainConfig
from .discriminators import DISCRIMINATORS, discriminator_loss, generator_losses


class Adversary:
    """``cfg.disc``'s discriminators, trained with their own optimizer (``disc_lr``)."""

    def __init__(self, cfg: TrainConfig, device: torch.device):
        self.device, self.cpu_bf16 = device, cfg.bf16
        self.disc = DISCRIMINATORS[cfg.disc]().to(device)
        self.net = distributed(self.disc, device)
        self.opt = torch.optim.AdamW(self.disc.parameters(), lr=cfg.disc_lr, betas=(0.8, 0.99),
                                     weight_decay=0.0)

    def __call__(self, wav: torch.Tensor, recon: torch.Tensor) -> dict[str, torch.Tensor]:
        """One discriminator step, then the generator's adversarial and feature-matching terms
        (``adv/gen``, ``adv/feat``) and the discriminator's loss (``adv/disc``, logged only)."""
        with autocast(self.device, self.cpu_bf16):
            d_loss = discriminator_loss(self.net(wav), self.net(recon.detach()))
        self.opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt.step()
        with autocast(self.device, self.cpu_bf16):
            with torch.no_grad():
                real = self.net(wav)
            terms = generator_losses(real, self.net(recon))
        terms["adv/disc"] = d_loss.detach()
        return terms

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "disc_optimizer": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.opt.load_state_dict(state["disc_optimizer"])
