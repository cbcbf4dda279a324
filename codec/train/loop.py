"""The training loop: resumable, seeded, logged to CSV (and TensorBoard when installed).

A run directory holds ``checkpoint.pt`` (model + optimizer + step, loadable with
``weights_only=True``), ``train.csv`` / ``valid.csv`` logs (``valid_average.csv`` with ``ema``)
and ``best/``: the exported model (in the shipped format) with the best held-out
``valid/select`` so far. A new run can start from shipped weights
(``init_from``) with a fresh optimizer and a short learning-rate warm-up, so separate sessions
of training add up.
"""

from __future__ import annotations

import contextlib
import csv
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from torch import distributed as dist
from torch import nn

from ..model import Codec, CodecConfig, build_codec, load_model, save_model
from ..signals import STOPS, deferred
from .averaging import WeightAverage
from .data import AUGMENTATIONS, Augment, SpeechCorpus, fixed_crops
from .discriminators import DISCRIMINATORS, discriminator_loss, generator_losses
from .losses import (CompressedSpectralLoss, MultiResolutionSpectralLoss,
                     TransformCoefficientLoss, level_loss)
from .transplant import transplant


@dataclass
class TrainConfig:
    steps: int = 10000
    batch_size: int = 16
    crop_seconds: float = 1.0
    lr: float = 1e-3
    warmup_steps: int = 200
    grad_clip: float = 1.0
    commit_weight: float = 1.0
    stft_weight: float = 1.0
    log_every: int = 25
    eval_every: int = 250
    valid_items: int = 32         # held-out crops of 3 s scored at each evaluation
    seed: int = 0
    adv_weight: float = 0.0       # > 0 turns on the discriminators (adversarial training)
    feat_weight: float = 2.0      # feature-matching weight, when adversarial
    adv_above_kbps: float = 0.0   # adversarial terms only on items trained above this bitrate
    adv_start: int = 0            # step at which the discriminators start
    disc_lr: float = 2e-4
    disc: str = "full"            # "full" (periods + 3 STFTs), "cheap" (one small STFT) or
                                  # "multi" (the cheap one at 3 resolutions)
    cpu_minutes: float = 0.0      # > 0: stop after this much CPU time in training steps (or at
                                  # ``steps``), and run the schedules on its fraction
    wall_minutes: float = 0.0     # > 0 (and no cpu_minutes): the same with wall-clock time, for
                                  # a GPU, where the CPU time says little
    ae_warmup: float = 0.0        # fraction of the run trained without the quantizer
    cmag_weight: float = 0.0      # compressed-magnitude MSE (losses.CompressedSpectralLoss)
    cplx_weight: float = 0.0      # compressed-complex MSE
    coef_weight: float = 0.0      # compressed transform-coefficient MSE (spectral kinds)
    level_weight: float = 0.0     # per-item level error (losses.level_loss)
    bitrate_decay: float = 1.0    # quantizer dropout draws bitrate i (lowest first) with
                                  # probability proportional to bitrate_decay ** i (1: uniform)
    recon_loss: str = "mrstft"    # "mrstft": log-mel + STFT convergence and log-magnitude at
                                  # 256-2048; "compressed": log-mel + compressed magnitude and
                                  # complex MSE at ``cspec_frames`` (``cmag_weight``,
                                  # ``cplx_weight``)
    cspec_frames: tuple[int, ...] = (1, 2, 4)  # "compressed": its STFT windows, in frames
    cspec_weighting: str = "linear"  # "compressed": its bins, "linear" or "erb" (losses.py)
    cspec_erb_power: float = 1.0  # "erb": each bin by 1 / ERB(f) to this power
    cspec_erb_flat_hz: float = 0.0  # "erb": > 0, the weight stays flat above this frequency
    coarse_commit_weight: float = 1.0  # the commitment of the levels of the lowest bitrate
                                  # counts this many times (1: every level alike)
    ema: float = 0.0              # > 0: also keep a moving average of the weights (this decay
                                  # per step), scored beside them and exported when better
    augment: str = "basic"        # data.AUGMENTATIONS: "basic" (level, telephone band) or
                                  # "lpcnet" (also a random filter, polarity and noise)
    compile: bool = False         # fuse the compressed loss's element-wise work (torch.compile;
                                  # about a minute to compile, then 1.4x faster per step)


def _lr_at(step: int, cfg: TrainConfig, progress: float | None = None) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 10% of ``lr`` at the end of
    the run (``progress`` 1; by default the fraction of ``steps`` done)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if progress is None:
        progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def bitrate_picks(count: int, bitrates: int, decay: float, gen: torch.Generator) -> torch.Tensor:
    """Quantizer dropout: for each of ``count`` items, the index of its bitrate (lowest first),
    drawn with probability proportional to ``decay ** index``."""
    odds = decay ** torch.arange(bitrates, dtype=torch.float64)
    return torch.multinomial(odds, count, replacement=True, generator=gen)


class Trainer:
    """One training run. Under ``torchrun`` (an initialised process group) every rank builds a
    Trainer: gradients are averaged by DDP, codebook statistics by ``VectorQuantizer.update``,
    and only rank 0 logs, evaluates and writes files."""

    def __init__(self, run_dir: Path, train: SpeechCorpus, valid: SpeechCorpus | None,
                 cfg: TrainConfig, model_config: CodecConfig | None = None,
                 init_from: Path | None = None, device: str = "cpu"):
        self.run_dir, self.cfg, self.device = Path(run_dir), cfg, torch.device(device)
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.is_main = self.rank == 0
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        self.train, self.valid = train, valid
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model: Codec = self._initial_model(model_config, init_from).train()
        self.model.to(self.device)
        self.net = self._distributed(self.model)
        mc = self.model.config
        if cfg.recon_loss not in ("mrstft", "compressed"):
            raise ValueError(f"recon_loss must be 'mrstft' or 'compressed', not {cfg.recon_loss!r}")
        self.loss = (MultiResolutionSpectralLoss(mc.sample_rate) if cfg.recon_loss == "mrstft"
                     else CompressedSpectralLoss(mc.sample_rate, tuple(
                         m * mc.hop for m in cfg.cspec_frames),
                         weighting=cfg.cspec_weighting,
                         erb_power=cfg.cspec_erb_power,
                         erb_flat_hz=cfg.cspec_erb_flat_hz)).to(self.device)
        if cfg.compile:
            if cfg.recon_loss != "compressed":
                raise ValueError("compile applies to recon_loss 'compressed' only")
            self.loss.compile()
        # items trained with more codebooks than this get the adversarial terms
        self.adv_min_levels = mc.codebooks_for(cfg.adv_above_kbps) if cfg.adv_above_kbps else 0
        # per-level commitment weights: the levels of the lowest bitrate times coarse_commit_weight
        self.commit_weights = torch.ones(mc.num_codebooks, device=self.device)
        self.commit_weights[: mc.codebooks_for(min(mc.bitrates))] = cfg.coarse_commit_weight
        self.coef_loss = TransformCoefficientLoss(mc.transform, mc.hop).to(self.device) \
            if cfg.coef_weight else None
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, betas=(0.8, 0.99),
                                     weight_decay=0.0)
        self.disc = self.disc_net = self.opt_d = None
        if cfg.adv_weight > 0:
            self.disc = DISCRIMINATORS[cfg.disc]().to(self.device)
            self.disc_net = self._distributed(self.disc)
            self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=cfg.disc_lr,
                                           betas=(0.8, 0.99), weight_decay=0.0)
        if cfg.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, not "
                             f"{cfg.augment!r}")
        self.augment = Augment(**AUGMENTATIONS[cfg.augment], sample_rate=mc.sample_rate)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1000 * self.rank)
        self.step, self.best, self.cpu_s, self.wall_s = 0, float("inf"), 0.0, 0.0
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema else None
        hop = self.model.hop
        self.crop = math.ceil(cfg.crop_seconds * mc.sample_rate / hop) * hop
        self.levels = torch.tensor([self.model.config.codebooks_for(b)
                                    for b in self.model.config.bitrates])
        self._resume()
        self._valid_batch = fixed_crops(valid, cfg.valid_items, 3 * mc.sample_rate) \
            if self.is_main and valid and len(valid) else None
        self._tb = self._tensorboard() if self.is_main else None

    @staticmethod
    def _initial_model(config: CodecConfig | None, init_from: Path | None) -> Codec:
        """A new model, the saved one, or (another config) the saved one's weights where they
        fit a new model (``transplant``)."""
        if init_from is None:
            return build_codec(config)
        saved = load_model(init_from)
        if saved.config.output_gain_db:  # a calibration belongs to the weights it measured
            saved.config = replace(saved.config, output_gain_db=())
            saved.saved_graphs = None  # they hold the gain (nn/export.py)
        config = config and replace(config, output_gain_db=())
        if config is None or config == saved.config:
            return saved
        model = build_codec(config)
        skipped = transplant(saved, model)
        print(f"init from {init_from}: config changed, {len(skipped)} tensors start fresh")
        return model

    def _distributed(self, module: nn.Module) -> nn.Module:
        if not dist.is_initialized() or dist.get_world_size() == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids,
                                                   broadcast_buffers=False)

    # -- persistence -------------------------------------------------------------------------
    def _resume(self) -> None:
        ckpt = self.run_dir / "checkpoint.pt"
        if not ckpt.exists():
            return
        state = torch.load(ckpt, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.disc is not None and "disc" in state:
            self.disc.load_state_dict(state["disc"])
            self.opt_d.load_state_dict(state["disc_optimizer"])
        if self.average is not None:  # a run that turns the average on starts it here
            if "average" in state:
                self.average.load_state_dict(state["average"])
            else:
                self.average = WeightAverage(self.model, self.cfg.ema)
        self.gen.set_state(state["generator"])
        self.step, self.best = int(state["step"]), float(state["best"])
        self.cpu_s = float(state.get("cpu_s", 0.0))
        self.wall_s = float(state.get("wall_s", 0.0))

    def save_checkpoint(self) -> None:
        tmp = self.run_dir / "checkpoint.pt.tmp"
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "generator": self.gen.get_state(), "step": self.step, "best": self.best,
                 "cpu_s": self.cpu_s, "wall_s": self.wall_s}
        if self.average is not None:
            state["average"] = self.average.state_dict()
        if self.disc is not None:
            state.update(disc=self.disc.state_dict(), disc_optimizer=self.opt_d.state_dict())
        torch.save(state, tmp)
        tmp.replace(self.run_dir / "checkpoint.pt")

    def _tensorboard(self):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # optional extra
            return None
        return SummaryWriter(str(self.run_dir / "tb"))

    def _log(self, values: dict[str, float], name: str = "train") -> None:
        path = self.run_dir / f"{name}.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(values))
            if new:
                w.writeheader()
            w.writerow(values)
        if self._tb is not None:
            for k, v in values.items():
                if k != "step":
                    self._tb.add_scalar(k, v, self.step)

    # -- one step ----------------------------------------------------------------------------
    def _timed(self) -> bool:
        """Whether the run is on a time budget (CPU or wall clock) rather than on ``steps``."""
        return self.cfg.cpu_minutes > 0 or self.cfg.wall_minutes > 0

    def progress(self) -> float:
        """Fraction of the run done: of the CPU budget when one is set, else of the wall-clock
        one, else of ``steps``."""
        if self.cfg.cpu_minutes > 0:
            return self.cpu_s / (60 * self.cfg.cpu_minutes)
        if self.cfg.wall_minutes > 0:
            return self.wall_s / (60 * self.cfg.wall_minutes)
        return self.step / max(1, self.cfg.steps)

    def finished(self) -> bool:
        """``steps`` reached, or the time budget spent when there is one."""
        return self.step >= self.cfg.steps or (self._timed() and self.progress() >= 1.0)

    def train_step(self) -> dict[str, float]:
        self.model.train()
        wav = self.augment(self.train.crops(self.cfg.batch_size, self.crop, self.gen), self.gen)
        wav = wav.to(self.device)
        # Quantizer dropout: each item is trained at one of the supported bitrates.
        active = self.levels[bitrate_picks(wav.shape[0], len(self.levels),
                                           self.cfg.bitrate_decay, self.gen)].to(self.device)
        progress = self.progress()
        for group in self.opt.param_groups:
            group["lr"] = _lr_at(self.step, self.cfg, progress if self._timed() else None)
        quantize = progress >= self.cfg.ae_warmup
        with self._autocast():
            recon, q = self.net(wav, active, quantize)
        wav = wav[..., : recon.shape[-1]]  # the last ``delay`` samples have no output yet
        terms = self.loss(recon, wav)
        terms["vq/commit"] = (q.level_commits * self.commit_weights).mean() if q is not None \
            else recon.new_zeros(())
        total = terms["mel/loss"] + self.cfg.commit_weight * terms["vq/commit"]
        if self.cfg.recon_loss == "mrstft":
            total = total + self.cfg.stft_weight * (terms["stft/sc"] + terms["stft/logmag"])
        else:
            total = total + self.cfg.cmag_weight * terms["cspec/mag"] \
                + self.cfg.cplx_weight * terms["cspec/complex"]
        if self.cfg.level_weight:
            terms["level/loss"] = level_loss(recon, wav)
            total = total + self.cfg.level_weight * terms["level/loss"]
        if self.coef_loss is not None:
            terms.update(self.coef_loss(recon, wav))
            total = total + self.cfg.coef_weight * terms["coef/mse"]
        adversarial = active > self.adv_min_levels
        if self.disc is not None and self.step >= self.cfg.adv_start and adversarial.any():
            terms.update(self._adversarial(wav[adversarial], recon[adversarial]))
            total = total + self.cfg.adv_weight * terms["adv/gen"] \
                + self.cfg.feat_weight * terms["adv/feat"]
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        grad = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        if self.average is not None:
            self.average.update(self.model)
        self.step += 1
        out = {k: float(v.detach()) for k, v in terms.items()}
        ppl = q.perplexity if q is not None else torch.zeros(1)
        out.update({"loss/total": float(total.detach()), "opt/grad_norm": float(grad),
                    "opt/lr": self.opt.param_groups[0]["lr"], "vq/on": float(quantize),
                    "vq/perplexity_first": float(ppl[0]), "vq/perplexity_last": float(ppl[-1]),
                    "vq/perplexity_mean": float(ppl.mean())})
        return out

    def _autocast(self):
        return torch.autocast(self.device.type, torch.bfloat16,
                              enabled=self.device.type == "cuda")

    def _adversarial(self, wav: torch.Tensor, recon: torch.Tensor) -> dict[str, torch.Tensor]:
        """One discriminator step, then the generator's adversarial and feature-matching terms."""
        with self._autocast():
            d_loss = discriminator_loss(self.disc_net(wav), self.disc_net(recon.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        with self._autocast():
            with torch.no_grad():
                real = self.disc_net(wav)
            terms = generator_losses(real, self.disc_net(recon))
        terms["adv/disc"] = d_loss.detach()
        return terms

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Held-out scores: log-mel distance at each bitrate; STOI at the lowest (when
        ``pystoi`` is installed), where a model that gains at 6 kbps can lose unseen; WB-PESQ
        (when ``pesq`` is installed), SI-SDR and waveform correlation at 3 and 6 kbps.
        ``valid/select`` is the model-selection figure, lower is better: minus WB-PESQ at
        6 kbps, else the log-mel. A run that never quantizes (``ae_warmup`` 1) is scored on its
        latent decoded unquantized instead (``@latent``: the codebooks are untrained)."""
        self.model.eval()
        out = {}
        wav = self._valid_batch
        refs = [w[0].numpy() for w in wav]
        if self.cfg.ae_warmup >= 1:
            recon = self.model.decode_latent(self.model.latent(wav.to(self.device)))
            out.update(self._scores(refs, recon[..., : wav.shape[-1]].cpu(), "latent",
                                    stoi=True, pesq=True))
            key = "latent"
        else:
            for kbps in self.model.config.bitrates:
                codes = self.model.encode(wav.to(self.device),
                                          self.model.config.codebooks_for(kbps))
                recon = self.model.decode(codes, wav.shape[-1]).cpu()
                out.update(self._scores(refs, recon, f"{kbps:g}",
                                        stoi=kbps == min(self.model.config.bitrates),
                                        pesq=kbps in (3, 6)))
            key = "6"
        out["valid/select"] = -out[f"valid/pesq@{key}"] if f"valid/pesq@{key}" in out \
            else out[f"valid/log_mel@{key}"]
        return out

    @staticmethod
    def _scores(refs: list[np.ndarray], recon: torch.Tensor, name: str, stoi: bool,
                pesq: bool) -> dict[str, float]:
        """Log-mel distance; STOI if ``stoi``; WB-PESQ, SI-SDR and correlation if ``pesq``
        (STOI and WB-PESQ when their packages are installed)."""
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
            out[f"valid/si_sdr@{name}"] = float(np.mean(
                [si_sdr(r, d) for r, d in zip(refs, degs)]))
            out[f"valid/corr@{name}"] = float(np.mean(
                [np.corrcoef(r, d)[0, 1] if d.std() > 0 else 0.0 for r, d in zip(refs, degs)]))
        return out

    def export(self, directory: Path, scores: dict[str, float], weights: str = "last") -> None:
        """The shipped format: weights, config and the runtime's graphs, and the recipe
        (``recipe.py``). ``weights`` says which were exported: the last step's or their moving
        average."""
        save_model(self.model.cpu().eval(), directory, graphs=True, extra={
            "training": {**asdict(self.cfg), "step": self.step, "weights": weights,
                         "cpu_minutes_spent": round(self.cpu_s / 60, 2),
                         **{k.split("/", 1)[1]: round(v, 4) for k, v in scores.items()},
                         "train_hours": round(self.train.hours, 3)}})
        from .recipe import write_recipe  # recipe.py imports TrainConfig from here

        write_recipe(self.cfg, directory)
        self.model.to(self.device)

    def _evaluate_and_save(self, bar) -> None:
        if self._valid_batch is not None:
            self._score_and_export(bar, "last", contextlib.nullcontext())
            if self.average is not None:
                self._score_and_export(bar, "average", self.average.swapped_in(self.model))
        self.save_checkpoint()

    def _score_and_export(self, bar, weights: str, holding) -> None:
        """Score the model while ``holding`` gives it ``weights`` ("last" -> valid.csv, "average"
        -> valid_average.csv); export it to ``best/`` when it beats every earlier score."""
        with holding:
            scores = self.validate()
            self._log({"step": self.step, "time/cpu_min": round(self.cpu_s / 60, 2), **scores},
                      "valid" if weights == "last" else f"valid_{weights}")
            if scores["valid/select"] < self.best:
                self.best = scores["valid/select"]
                self.export(self.run_dir / "best", scores, weights)
        bar.write(f"step {self.step} ({self.cpu_s / 60:.1f} CPU-min, {weights}): " + ", ".join(
            f"{k.split('/', 1)[1]} {v:.3f}" for k, v in scores.items()))

    def run(self) -> None:
        """Train until ``steps`` (or the CPU or wall-clock budget) is reached. Time is counted
        over the training steps only (CPU: ``time.process_time``, every thread of this
        process)."""
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc="train", dynamic_ncols=True,
                   mininterval=1 if sys.stderr.isatty() else 30, disable=not self.is_main)
        t0, last = time.time(), {}
        try:
            while not self.finished():
                # Ctrl-C or SIGTERM (under signals.handled(), as scripts/train.py runs) waits for
                # the end of the step and of an evaluation, so what is saved is whole
                with deferred():
                    c0, w0 = time.process_time(), time.perf_counter()
                    last = self.train_step()  # ends on the loss values: a GPU has finished
                    self.cpu_s += time.process_time() - c0
                    self.wall_s += time.perf_counter() - w0
                bar.update(1)
                if not self.is_main:
                    continue
                if self.step % self.cfg.log_every == 0:
                    bar.set_postfix(mel=f"{last['mel/loss']:.3f}",
                                    ppl=f"{last['vq/perplexity_mean']:.0f}")
                    self._log({"step": self.step, "time/elapsed_s": round(time.time() - t0, 1),
                               "time/cpu_min": round(self.cpu_s / 60, 3), **last})
                if self.step % self.cfg.eval_every == 0 or self.finished():
                    with deferred():
                        self._evaluate_and_save(bar)
        except STOPS:
            if self.is_main:
                self.save_checkpoint()
            raise
        finally:
            bar.close()
