"""Residual vector quantizer: coarse codebooks first, any prefix of them decodes.

Each level quantizes what the previous levels left over. Codebooks are learnt by exponential
moving averages of the vectors assigned to each code (VQ-VAE-2 / SoundStream), initialised by
k-means on the first training batch; codes that fall out of use are restarted on random vectors
of the current batch, so the codebooks do not collapse. Gradients reach the encoder through the
straight-through estimator and the per-level commitment losses.

Low-dimensional codebooks (``code_dim < dim``): a level may search its codes in a fixed
``code_dim``-dimensional subspace, the principal axes of the residuals it saw in the first
training batch. Its codes are then ``code_dim`` floats, mapped back to the latent space by the
same orthonormal projection. The nearest-code search, which reads every code at every frame,
then costs ``code_dim / dim`` of a full-size one; what the subspace misses is left in the
residual for the next levels.

Depth bias (optional): the decoder's input is the sum of the codes received plus a learnt vector
for their number, so one decoder can tell 3 codebooks (1.5 kbps) from 18 and shape its output
for each bitrate; at zero (as built) it changes nothing. It costs one addition per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributed as dist
from torch import nn
from torch.nn import functional as F


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor        # [B, D, T] sum of the used levels, straight-through to z
    codes: torch.Tensor            # [B, K, T] int64, all levels computed
    commit_loss: torch.Tensor      # scalar, mean over levels
    perplexity: torch.Tensor       # [K] codebook usage perplexity per level, this batch
    level_commits: torch.Tensor    # [K] each level's commitment (commit_loss is their mean)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _kmeans(x: torch.Tensor, k: int, iters: int = 10) -> torch.Tensor:
    """A few Lloyd iterations from random samples; empty clusters keep their old centre.

    A little noise keeps centres drawn from the same sample apart (no exact ties).
    """
    centres = x[torch.randint(len(x), (k,), device=x.device)]
    centres = centres + 1e-3 * x.std() * torch.randn_like(centres)
    for _ in range(iters):
        idx = torch.cdist(x, centres).argmin(-1)
        counts = torch.bincount(idx, minlength=k).to(x.dtype)
        sums = torch.zeros_like(centres).index_add_(0, idx, x)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centres)
    return centres


def _principal_axes(x: torch.Tensor, k: int) -> torch.Tensor:
    """``[D, k]`` orthonormal columns spanning the ``k`` directions of most energy of ``x``."""
    _, _, vh = torch.linalg.svd(x.double(), full_matrices=False)
    return vh[:k].t().to(x.dtype).contiguous()


class VectorQuantizer(nn.Module):
    """One EMA codebook of ``size`` vectors of ``code_dim`` floats (``dim`` when 0).

    With ``code_dim < dim``, ``projection`` ``[dim, code_dim]`` maps latents into the codebook's
    space (``x @ projection``) and codes back (``c @ projection.T``).
    """

    # A code is dead when no vector chose it for ``patience`` training steps in a row. With a
    # batch of 16 x 50 frames and 1024 codes, a code of average use is chosen in a batch with
    # probability 0.54, so 20 idle steps in a row happen by chance about once in 10^7; a collapsed
    # or freshly initialised codebook is repaired within tens of steps (also after loading).
    def __init__(self, dim: int, size: int, code_dim: int = 0, decay: float = 0.99,
                 patience: int = 20):
        super().__init__()
        self.size, self.decay, self.patience = size, decay, patience
        code_dim = code_dim or dim
        if not 0 < code_dim <= dim:
            raise ValueError(f"code_dim must be in 1..{dim}, got {code_dim}")
        self.projected = code_dim < dim
        if self.projected:
            self.register_buffer("projection", torch.eye(dim, code_dim))
        self.register_buffer("codebook", torch.randn(size, code_dim) * 0.1)
        # Training-only statistics: not saved with the shipped weights (see ``codec.py``).
        self.register_buffer("ema_count", torch.ones(size))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("idle", torch.zeros(size))  # training steps since last chosen
        self.register_buffer("initialised", torch.tensor(False))

    def to_code_space(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.projection if self.projected else x

    def latent_codebook(self) -> torch.Tensor:
        """The codes as latent vectors ``[size, dim]``."""
        return self.codebook @ self.projection.t() if self.projected else self.codebook

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``x`` [N, dim]."""
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change the argmin. With a projection,
        # the part of x outside the subspace adds the same to every distance.
        scores = torch.addmm((self.codebook * self.codebook).sum(-1), self.to_code_space(x),
                             self.codebook.t(), alpha=-2.0)
        return scores.argmin(-1)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        q = F.embedding(idx, self.codebook)
        return q @ self.projection.t() if self.projected else q

    @torch.no_grad()
    def initialise(self, x: torch.Tensor) -> None:
        """Principal axes (if projected) and k-means on the first training batch, once (also
        marks loaded weights as trained)."""
        if not bool(self.initialised):
            if self.projected:
                self.projection.copy_(_principal_axes(x, self.codebook.shape[1]))
                if _distributed():
                    dist.broadcast(self.projection, 0)
            self.codebook.copy_(_kmeans(self.to_code_space(x), self.size))
            if _distributed():
                dist.broadcast(self.codebook, 0)  # every rank starts from rank 0's k-means
            self.ema_sum.copy_(self.codebook)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)

    @torch.no_grad()
    def update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        """EMA step of counts and sums, then restart codes idle for ``patience`` steps."""
        x = self.to_code_space(x)
        counts = torch.bincount(idx, minlength=self.size).to(x.dtype)
        sums = torch.zeros_like(self.codebook).index_add_(0, idx, x)
        if _distributed():  # DDP: one EMA over the data of all ranks
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.ema_count.sum()  # Laplace smoothing keeps rare codes away from zero division
        count = (self.ema_count + 1e-5) / (n + self.size * 1e-5) * n
        self.codebook.copy_(self.ema_sum / count[:, None])
        self.idle.add_(1).masked_fill_(counts > 0, 0)
        dead = self.idle >= self.patience
        if dead.any():
            fresh = x[torch.randint(len(x), (int(dead.sum()),), device=x.device)]
            if _distributed():
                dist.broadcast(fresh, 0)  # every rank restarts the same codes the same way
            self.codebook[dead] = fresh
            self.ema_sum[dead] = fresh
            self.ema_count[dead] = 1.0
            self.idle[dead] = 0


def codes_to_latent(codes: torch.Tensor, books: torch.Tensor, projections: torch.Tensor,
                    offsets: torch.Tensor, depth_bias: torch.Tensor | None) -> torch.Tensor:
    """Codes ``[K, N]`` (K >= 1, coarse first) -> the decoder's latents ``[N, dim]``: the sum of
    each level's code mapped back to the latent space, plus row ``K`` of ``depth_bias`` (the
    offset that tells the decoder how many codebooks reached it) when the model has one.

    The one place this is written: ``ResidualVQ.decode`` (the torch ``Codec`` and the eager
    engine) and the exported decoder graph (``export.py``) both call it, with the tables of
    ``ResidualVQ.tables()``. ``K`` is only read as a slice bound, so the graph keeps it dynamic.
    """
    k = codes.shape[0]
    rows = books[codes + offsets[:k]]                          # [K, N, code_dim]
    latents = torch.bmm(rows, projections[:k]).sum(0)          # [N, dim]
    if depth_bias is not None:
        latents = latents + depth_bias[k: k + 1]
    return latents


class ResidualVQ(nn.Module):
    """``num_codebooks`` levels of ``VectorQuantizer`` over ``dim``-dimensional latents."""

    def __init__(self, dim: int, num_codebooks: int, codebook_size: int, code_dim: int = 0,
                 depth_bias: bool = False):
        super().__init__()
        self.dim = dim
        self.levels = nn.ModuleList(VectorQuantizer(dim, codebook_size, code_dim)
                                    for _ in range(num_codebooks))
        # row k: added to the decoder's input when k codebooks reach it (row 0: none)
        self.depth_bias = nn.Parameter(torch.zeros(num_codebooks + 1, dim)) if depth_bias \
            else None

    @property
    def num_codebooks(self) -> int:
        return len(self.levels)

    def tables(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The codebooks as ``codes_to_latent`` reads them: every level's codebook stacked
        ``[L * size, code_dim]`` (codes stay in their own space, so a graph holds them at their
        size), each level's projection back to the latent space ``[L, code_dim, dim]`` (the
        identity for a level without one) and each level's first row ``[L, 1]``."""
        levels = self.levels
        eye = torch.eye(self.dim, device=levels[0].codebook.device)
        books = torch.cat([lvl.codebook for lvl in levels])
        projections = torch.stack([lvl.projection.t() if lvl.projected else eye for lvl in levels])
        offsets = (torch.arange(len(levels), device=books.device) * levels[0].size)[:, None]
        return books, projections, offsets

    def forward(self, z: torch.Tensor, active: torch.Tensor | None = None) -> QuantizerOutput:
        """Quantize latents ``z`` [B, D, T] with every level (training and analysis).

        ``active`` [B] (int) is the number of levels whose output reaches the decoder for each
        item: quantizer dropout, so one model serves every bitrate. ``None`` uses all levels.
        Always in full precision, under autocast too: the code search and the codebooks' moving
        averages are what the runtime's float32 search must find again.
        """
        with torch.autocast(z.device.type, enabled=False):
            return self._quantize(z.float(), active)

    def _quantize(self, z: torch.Tensor, active: torch.Tensor | None) -> QuantizerOutput:
        b, d, t = z.shape
        flat = z.transpose(1, 2).reshape(-1, d)
        residual = flat  # z minus the (detached) codes so far: its gradient wrt z is identity
        total = torch.zeros_like(flat)
        codes, commits, perplexities = [], [], []
        if active is not None:
            row_active = active.repeat_interleave(t)
        for i, level in enumerate(self.levels):
            if self.training:
                level.initialise(residual.detach())
            idx = level.nearest(residual.detach())
            q = level.lookup(idx).detach()
            if self.training:
                level.update(residual.detach(), idx)
            # Per-level commitment: pulls z towards every partial reconstruction.
            commits.append(F.mse_loss(residual, q))
            use = 1.0 if active is None else (row_active > i).to(z.dtype)[:, None]
            total = total + q * use
            residual = residual - q
            codes.append(idx)
            probs = torch.bincount(idx, minlength=level.size).to(z.dtype) / len(idx)
            perplexities.append(torch.exp(-(probs * (probs + 1e-10).log()).sum()))
        # One straight-through estimator for the sum: the decoder's gradient reaches z unscaled,
        # whatever the number of active levels.
        total = flat + (total - flat).detach()
        quantized = total.reshape(b, t, d).transpose(1, 2)
        if self.depth_bias is not None:
            depth = torch.full((b,), len(self.levels), device=z.device) if active is None \
                else active.to(z.device).long()
            quantized = quantized + self.depth_bias[depth][:, :, None]
        codes_t = torch.stack(codes, 0).reshape(-1, b, t).transpose(0, 1)
        commits = torch.stack(commits)
        return QuantizerOutput(quantized, codes_t, commits.mean(), torch.stack(perplexities),
                               commits)

    @torch.no_grad()
    def encode(self, z: torch.Tensor, num_codebooks: int, beam: int = 1) -> torch.Tensor:
        """Latents [B, D, T] -> codes [B, K, T] from the first ``num_codebooks`` levels (``search``
        with ``beam``)."""
        b, d, t = z.shape
        codes = self.search(z.transpose(1, 2).reshape(-1, d), num_codebooks, beam)
        return codes.reshape(-1, b, t).transpose(0, 1)

    def search(self, flat: torch.Tensor, num_codebooks: int, beam: int = 1) -> torch.Tensor:
        """Codes [K, N] of latents ``flat`` [N, D], coarse first.

        ``beam`` 1 is greedy: each level takes the code nearest to what the earlier ones left.
        A wider beam keeps the ``beam`` best partial sums from level to level and returns the
        best at the last one: the same bitstream, a closer sum (the codes' effect on the decoder
        is not searched, only the latent distance). Each vector is searched on its own, so a
        stream's codes do not depend on how its frames are batched.
        """
        levels = self.levels[:num_codebooks]
        if not levels:
            return flat.new_zeros(0, flat.shape[0], dtype=torch.long)
        if beam == 1:
            codes = []
            for level in levels:
                idx = level.nearest(flat)
                flat = flat - level.lookup(idx)
                codes.append(idx)
            # one Concat and a Reshape: in an exported graph, stacking adds an Unsqueeze per level
            return torch.cat(codes).reshape(len(codes), -1)
        d = flat.shape[1]
        residual, width = flat[:, None], 1                             # [N, W, D], W = 1 first
        steps = []                                 # per level: (candidate it extends, its code)
        for i, level in enumerate(levels):
            book = level.codebook                                      # [C, code_dim]
            # |r - c|^2 = |r|^2 - 2 r.c + |c|^2; here |r|^2 differs between the candidates
            dist = (residual * residual).sum(-1, keepdim=True) \
                - 2 * level.to_code_space(residual) @ book.t() + (book * book).sum(-1)
            width = 1 if i == len(levels) - 1 else min(beam, width * book.shape[0])
            best = dist.flatten(1).topk(width, largest=False).indices  # [N, width]
            parent, idx = best // book.shape[0], best % book.shape[0]
            residual = residual.gather(1, parent[..., None].expand(-1, -1, d)) - level.lookup(idx)
            steps.append((parent, idx))
        codes, pick = [], None                    # back from the best sum at the last level
        for parent, idx in reversed(steps):
            if pick is not None:
                idx, parent = idx.gather(1, pick), parent.gather(1, pick)
            codes.append(idx)
            pick = parent
        # one Concat and a Reshape, as above
        return torch.cat(codes[::-1], 1).t().reshape(len(codes), -1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, K, T] (any K up to ``num_codebooks``) -> latents [B, D, T]."""
        b, k, t = codes.shape
        if k > self.num_codebooks:
            raise ValueError(f"{k} codebooks given, the model has {self.num_codebooks}")
        if not k:
            return codes.new_zeros(b, self.dim, t, dtype=torch.float32)
        flat = codes.transpose(0, 1).reshape(k, b * t)
        latents = codes_to_latent(flat, *self.tables(), self.depth_bias)    # [B * T, D]
        return latents.reshape(b, t, self.dim).transpose(1, 2)
