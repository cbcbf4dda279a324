"""The settings of a training run: every field is a ``scripts/train.py`` flag (``-`` for ``_``),
and those that differ from their defaults make up a model's recipe (``recipe.py``). Which loss
term each ``*_weight`` weighs is in ``loss_terms.py``."""

from __future__ import annotations

from dataclasses import dataclass


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
    bf16: bool = False            # the forward passes under bfloat16 autocast on the CPU too
                                  # (worth it where the CPU has AVX512-BF16 or AMX; a CUDA
                                  # device always autocasts)
