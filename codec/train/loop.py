"""The training loop: resumable, seeded, logged to CSV (and TensorBoard when installed).

A run directory holds ``checkpoint.pt`` (model + optimizer + step, loadable with
``weights_only=True``), ``train.csv`` / ``valid.csv`` logs (``valid_average.csv`` with ``ema``)
and ``best/``: the exported model (in the shipped format) with the best held-out
``valid/select`` so far. A new run can start from shipped weights
(``init_from``) with a fresh optimizer and a short learning-rate warm-up, so separate sessions
of training add up.

The ``Trainer`` puts together the parts, one concern each: the settings (``config.py``), the
model a run starts from and DDP (``build.py``), the loss from a table of weights
(``loss_terms.py``, with ``losses.py`` and ``adversary.py``), when things happen
(``schedule.py``), what is kept on disk (``checkpoint.py``), the held-out scores and selection
figure (``validation.py``) and the logs (``logs.py``).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path

import torch
from torch import distributed as dist
from tqdm import tqdm

from ..model import Codec, CodecConfig
from ..runtime.signals import STOPS, deferred
from .adversary import Adversary
from .averaging import WeightAverage
from .build import autocast, cpu_has_native_bf16, distributed, initial_model
from .checkpoint import export_model, resume, save_checkpoint
from .config import TrainConfig
from .data import AUGMENTATIONS, Augment, SpeechCorpus, fixed_crops
from .logs import RunLog
from .loss_terms import Batch, LossTerms
from .schedule import Clock, bitrate_picks
from .validation import Validation

__all__ = ["TrainConfig", "Trainer", "bitrate_picks"]


class Trainer:
    """One training run. Under ``torchrun`` (an initialised process group) every rank builds a
    Trainer: gradients are averaged by DDP, codebook statistics by ``VectorQuantizer.update``,
    and only rank 0 logs, evaluates and writes files."""

    def __init__(self, run_dir: Path, train: SpeechCorpus, valid: SpeechCorpus | None,
                 cfg: TrainConfig, model_config: CodecConfig | None = None,
                 init_from: Path | None = None, device: str = "cpu"):
        self.run_dir, self.cfg, self.device = Path(run_dir), cfg, torch.device(device)
        self.is_main = not dist.is_initialized() or dist.get_rank() == 0
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.train = train
        if cfg.bf16 and self.device.type == "cpu" and cpu_has_native_bf16() is False:
            print("warning: --bf16 on a CPU without AVX512-BF16 or AMX: bfloat16 is emulated "
                  "there, and slower than float32")
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model: Codec = initial_model(model_config, init_from).train().to(self.device)
        self.net = distributed(self.model, self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(0.8, 0.99),
                                     weight_decay=0.0)
        self.adversary = Adversary(cfg, self.device) if cfg.adv_weight > 0 else None
        mc = self.model.config
        self.losses = LossTerms(cfg, mc, self.device, self.adversary)
        if cfg.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, not "
                             f"{cfg.augment!r}")
        self.augment = Augment(**AUGMENTATIONS[cfg.augment], sample_rate=mc.sample_rate)
        rank = dist.get_rank() if dist.is_initialized() else 0
        self.gen = torch.Generator().manual_seed(cfg.seed + 1000 * rank)
        self.clock, self.best = Clock(cfg), float("inf")
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema else None
        self.crop = math.ceil(cfg.crop_seconds * mc.sample_rate / mc.hop) * mc.hop
        self.levels = torch.tensor([mc.codebooks_for(b) for b in mc.bitrates])
        resume(self)
        self.validation = Validation(fixed_crops(valid, cfg.valid_items, 3 * mc.sample_rate),
                                     cfg.ae_warmup >= 1, self.device) \
            if self.is_main and valid and len(valid) else None
        self.log = RunLog(self.run_dir) if self.is_main else None

    @property
    def step(self) -> int:
        return self.clock.step

    def train_step(self) -> dict[str, float]:
        """One optimizer step on a fresh batch; the values logged to train.csv."""
        self.model.train()
        wav = self.augment(self.train.crops(self.cfg.batch_size, self.crop, self.gen), self.gen)
        wav = wav.to(self.device)
        # Quantizer dropout: each item is trained at one of the supported bitrates.
        codebooks = self.levels[bitrate_picks(wav.shape[0], len(self.levels),
                                              self.cfg.bitrate_decay, self.gen)].to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = self.clock.learning_rate()
        quantize = self.clock.progress() >= self.cfg.ae_warmup
        with autocast(self.device, self.cfg.bf16):
            recon, q = self.net(wav, codebooks, quantize)
        recon = recon.float()  # the losses run in full precision
        wav = wav[..., : recon.shape[-1]]  # the last ``delay`` samples have no output yet
        total, terms = self.losses(Batch(wav, recon, q, codebooks, self.clock.step))
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        grad = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        if self.average is not None:
            self.average.update(self.model)
        self.clock.step += 1
        out = {k: float(v.detach()) for k, v in terms.items()}
        ppl = q.perplexity if q is not None else torch.zeros(1)
        out.update({"loss/total": float(total.detach()), "opt/grad_norm": float(grad),
                    "opt/lr": self.opt.param_groups[0]["lr"], "vq/on": float(quantize),
                    "vq/perplexity_first": float(ppl[0]), "vq/perplexity_last": float(ppl[-1]),
                    "vq/perplexity_mean": float(ppl.mean())})
        return out

    def run(self) -> None:
        """Train until ``steps`` (or the CPU or wall-clock budget) is reached, timing the
        training steps only (``Clock``), evaluating every ``eval_every`` steps and at the end."""
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc="train", dynamic_ncols=True,
                   mininterval=1 if sys.stderr.isatty() else 30, disable=not self.is_main)
        start, last = time.time(), {}
        try:
            while not self.clock.finished():
                # Ctrl-C or SIGTERM (under signals.handled(), as scripts/train.py runs) waits for
                # the end of the step and of an evaluation, so what is saved is whole
                with deferred(), self.clock.measuring():
                    last = self.train_step()  # ends on the loss values: a GPU has finished
                bar.update(1)
                if not self.is_main:
                    continue
                if self.step % self.cfg.log_every == 0:
                    bar.set_postfix(mel=f"{last['mel/loss']:.3f}",
                                    ppl=f"{last['vq/perplexity_mean']:.0f}")
                    self.log.write({"step": self.step,
                                    "time/elapsed_s": round(time.time() - start, 1),
                                    "time/cpu_min": round(self.clock.cpu_s / 60, 3), **last},
                                   self.step)
                if self.step % self.cfg.eval_every == 0 or self.clock.finished():
                    with deferred():
                        self.evaluate_and_save(bar)
        except STOPS:
            if self.is_main:
                save_checkpoint(self)
            raise
        finally:
            bar.close()

    def evaluate_and_save(self, bar) -> None:
        """Score the last weights (and their average), export the best, save the checkpoint."""
        if self.validation is not None:
            self._score_and_export(bar, "last", contextlib.nullcontext())
            if self.average is not None:
                self._score_and_export(bar, "average", self.average.swapped_in(self.model))
        save_checkpoint(self)

    def _score_and_export(self, bar, weights: str, holding) -> None:
        """Score the model while ``holding`` gives it ``weights`` ("last" -> valid.csv, "average"
        -> valid_average.csv); export it to ``best/`` when it beats every earlier score."""
        with holding:
            scores = self.validation(self.model)
            name = "valid" if weights == "last" else f"valid_{weights}"
            self.log.write({"step": self.step, "time/cpu_min": round(self.clock.cpu_s / 60, 2),
                            **scores}, self.step, name)
            if scores["valid/select"] < self.best:
                self.best = scores["valid/select"]
                export_model(self, self.run_dir / "best", scores, weights)
        bar.write(f"step {self.step} ({self.clock.cpu_s / 60:.1f} CPU-min, {weights}): " +
                  ", ".join(f"{k.split('/', 1)[1]} {v:.3f}" for k, v in scores.items()))
