"""The spectral kind: STFT or MDCT frames in, causal ConvNeXt blocks at the frame rate, and the
same transform inverted by overlap-add.

Geometry (``hop`` samples per latent frame, ``hop / 2`` per transform frame, window ``hop``):
transform frame ``j`` covers samples ``[j * hop/2 - hop/2, j * hop/2 + hop/2)``, so its window
ends at its last sample and the encoder never looks ahead. Two transform frames are stacked into
one latent frame, and every block runs at the latent rate (50 Hz for the shipped geometry).
Synthesis overlap-adds the decoder's frames; a sample is complete once every frame that covers
it is in, so the decoder's output lags the input by ``delay = window - step`` samples: 10 ms
for the shipped geometry (window ``hop``, step ``hop / 2``). The decoder may use a finer grid
of its own (``CodecConfig.synthesis_window`` / ``synthesis_step``, e.g. 15 ms frames 5 ms
apart, four per latent frame, also 10 ms late).

Both transforms are matrix products with fixed bases (exportable, and cheap at a frame's few
hundred points), and both reconstruct perfectly: the STFT with a square-root periodic Hann
window on both sides (its square sums to one at 50 % overlap), the MDCT with the sine window
(Princen-Bradley).

With ``int8`` (``CodecConfig.int8``), every pointwise layer has 8-bit weights and inputs
(``int8.py``): a quarter of the bytes to read per frame.

With ``long_window`` (``CodecConfig.long_window``), the encoder also sees one longer analysis
frame per latent frame (``LowBandAnalysis``), ending at the frame's last sample: its bins below
``long_window_hz`` resolve the harmonics of the voice that a 20 ms window blurs (50 Hz bins). It
reaches into the past only, so it costs no latency; the decoder does not change.

Spectra are power-law compressed (``|X|^0.3`` with the phase or sign kept), as in ESC and
MP-SENet, so quiet bins weigh in and the network sees a small dynamic range.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .int8 import int8_linear

COMPRESS = 0.3  # power-law exponent of the compressed spectra


def compress(x: torch.Tensor, pairs: bool) -> torch.Tensor:
    """``x |x|^(c-1)``: on complex values stored as (re, im) pairs along dim -2, or on reals."""
    if pairs:
        mag = x.pow(2).sum(-2, keepdim=True).add(1e-12).sqrt()
    else:
        mag = x.abs().add(1e-12)
    return x * mag.pow(COMPRESS - 1)


def decompress(y: torch.Tensor, pairs: bool) -> torch.Tensor:
    """The inverse of ``compress``: ``y |y|^(1/c - 1)`` (smooth at 0 since 1/c - 1 > 0)."""
    if pairs:
        mag = y.pow(2).sum(-2, keepdim=True).add(1e-12).sqrt()
    else:
        mag = y.abs().add(1e-12)
    return y * mag.pow(1 / COMPRESS - 1)


class Transform(nn.Module):
    """Frames of ``window`` samples, ``step`` apart (default ``window / 2``), <-> ``coefficients``
    per frame.

    ``analysis`` maps ``[..., window]`` to ``[..., coefficients]`` and ``synthesis`` back to
    windowed frames whose overlap-add is the signal. The MDCT needs ``step = window / 2``; the
    STFT takes any ``step`` that divides the window (the squared window, a periodic Hann, sums
    to ``window / (2 step)`` over frames ``step`` apart, which synthesis divides out).
    """

    def __init__(self, kind: str, window: int, step: int = 0):
        super().__init__()
        step = step or window // 2
        if kind not in ("stft", "mdct") or window % 2 or window % step \
                or (kind == "mdct" and 2 * step != window):
            raise ValueError(f"transform must be 'stft' (a step that divides the window) or "
                             f"'mdct' (a step of half the window), with an even window, got "
                             f"{kind!r}, window {window}, step {step}")
        self.kind, self.window, self.step = kind, window, step
        n = torch.arange(window, dtype=torch.float64)
        if kind == "stft":
            w = torch.sin(math.pi * n / window)  # sqrt of the periodic Hann window
            bins = window // 2 + 1
            k = torch.arange(bins, dtype=torch.float64)
            angle = 2 * math.pi * n[:, None] * k[None] / window
            forward = torch.cat([torch.cos(angle), -torch.sin(angle)], 1)  # [window, 2 * bins]
            # Inverse real DFT: bins 1..N/2-1 count twice (their conjugates), DC and Nyquist once.
            weight = torch.full((bins,), 2.0, dtype=torch.float64)
            weight[0] = weight[-1] = 1.0
            inverse = torch.cat([torch.cos(angle).t() * weight[:, None],
                                 -torch.sin(angle).t() * weight[:, None]], 0) / window
            inverse = inverse * (2 * step / window)  # 1 at the usual 50 % overlap
            self.pairs, self.coefficients = True, 2 * bins
        else:
            w = torch.sin(math.pi * (n + 0.5) / window)  # sine window: w[n]^2 + w[n+N]^2 = 1
            half = window // 2
            k = torch.arange(half, dtype=torch.float64)
            basis = torch.cos(math.pi / half * (n[:, None] + 0.5 + half / 2) * (k[None] + 0.5))
            scale = math.sqrt(2 / half)
            forward, inverse = basis * scale, basis.t() * scale
            self.pairs, self.coefficients = False, half
        self.register_buffer("analysis_basis", (w[:, None] * forward).float(), persistent=False)
        self.register_buffer("synthesis_basis", (inverse * w[None]).float(), persistent=False)

    def analysis(self, frames: torch.Tensor) -> torch.Tensor:
        return frames @ self.analysis_basis

    def synthesis(self, coefficients: torch.Tensor) -> torch.Tensor:
        return coefficients @ self.synthesis_basis

    def as_pairs(self, c: torch.Tensor) -> torch.Tensor:
        """``[..., coefficients]`` -> ``[..., 2, bins]`` for the STFT; unchanged for the MDCT."""
        return c.unflatten(-1, (2, -1)) if self.pairs else c

    def compress(self, c: torch.Tensor) -> torch.Tensor:
        return compress(self.as_pairs(c), self.pairs).flatten(-2) if self.pairs \
            else compress(c, False)

    def decompress(self, c: torch.Tensor) -> torch.Tensor:
        return decompress(self.as_pairs(c), self.pairs).flatten(-2) if self.pairs \
            else decompress(c, False)


class LowBandAnalysis(nn.Module):
    """Frames of ``window`` samples (a whole number of ``hop``), one per ``hop``, each ending at
    a latent frame's last sample -> their compressed complex bins below ``max_hz``,
    ``[..., 2 * bins]`` as (re, im) halves. A periodic Hann window, scaled so that its sum is
    that of the short transform's window: both inputs see a tone at the same level."""

    def __init__(self, hop: int, window: int, max_hz: int, sample_rate: int):
        super().__init__()
        if window <= hop or window % hop:
            raise ValueError(f"long_window must be a multiple of the hop {hop} above it, got "
                             f"{window}")
        if max_hz <= 0 or sample_rate <= 0:
            raise ValueError(f"a long window needs its top frequency and the sample rate, got "
                             f"{max_hz} and {sample_rate}")
        self.hop, self.window, self.chunks = hop, window, window // hop
        self.bins = min(window // 2 + 1, int(max_hz * window / sample_rate) + 1)
        n = torch.arange(window, dtype=torch.float64)
        w = torch.sin(math.pi * n / window).pow(2)
        w = w * torch.sin(math.pi * torch.arange(hop, dtype=torch.float64) / hop).sum() / w.sum()
        angle = 2 * math.pi * n[:, None] * torch.arange(self.bins, dtype=torch.float64) / window
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)], 1) * w[:, None]
        self.register_buffer("basis", basis.float(), persistent=False)

    @property
    def history(self) -> int:
        """Samples before the first frame that its long frame reaches back to."""
        return self.window - self.hop

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        """``[B, history + F * hop]`` -> ``[B, F, 2 * bins]``."""
        chunks = padded.reshape(padded.shape[0], -1, self.hop)  # [B, F + chunks - 1, hop]
        last = self.chunks - 1
        # negative ends, not sizes computed here: the exported graphs take any number of frames
        frames = torch.cat([chunks[:, i: (i - last) or None] for i in range(self.chunks)], -1)
        c = (frames @ self.basis).unflatten(-1, (2, -1))
        return compress(c, True).flatten(-2)


def linear(module: nn.Module, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
           ) -> torch.Tensor:
    """``F.linear``, or with 8-bit weights and inputs (``int8.py``) where ``module.int8`` is
    set: in the runtime's exact order unless ``module`` is training."""
    if module.int8:
        return int8_linear(x, weight, bias, exact=not module.training)
    return F.linear(x, weight, bias)


def pointwise(module: nn.Module, x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """A 1x1 ``Conv1d`` applied to frames ``[B, T, C]`` as the matrix product it is."""
    return linear(module, x, conv.weight[..., 0], conv.bias)


class ConvNeXtBlock(nn.Module):
    """``x + scale * mlp(norm(causal depthwise conv(x)))`` over frames ``[B, T, C]``.

    Channels last, so that the norm and the two pointwise layers are plain matrix products
    (with ``int8``, one ``MatMulNBits`` each in the graphs); the parameters keep the shapes of
    ``Conv1d``. Streaming state: the last ``kernel - 1`` input frames ``[B, kernel - 1, C]``.
    """

    def __init__(self, channels: int, expansion: int, kernel: int, int8: bool = False):
        super().__init__()
        self.int8 = int8
        if kernel < 2:
            raise ValueError(f"the depthwise kernel spans at least 2 frames, got {kernel}")
        self.context = kernel - 1
        self.dwconv = nn.Conv1d(channels, channels, kernel, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.up = nn.Conv1d(channels, channels * expansion, 1)
        self.down = nn.Conv1d(channels * expansion, channels, 1)
        self.scale = nn.Parameter(torch.full((channels, 1), 0.1))

    def _mlp(self, x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """``x`` [B, T, C] and the frames before it, ``window`` [B, context + T, C]."""
        h = F.conv1d(window.transpose(1, 2), self.dwconv.weight, self.dwconv.bias,
                     groups=self.dwconv.groups).transpose(1, 2)
        h = F.gelu(pointwise(self, self.norm(h), self.up))
        # the layer scale folded into the last layer: a constant in the exported graph
        return x + linear(self, h, self.down.weight[..., 0] * self.scale,
                          self.down.bias * self.scale[:, 0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._mlp(x, F.pad(x, (0, 0, self.context, 0)))

    def init_state(self, batch: int = 1) -> list[torch.Tensor]:
        return [self.dwconv.weight.new_zeros(batch, self.context, self.dwconv.in_channels)]

    def step(self, x: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        full = torch.cat([state[0], x], 1)
        state[0] = full[:, -self.context:].clone()  # a slice from the end: any length exports
        return self._mlp(x, full)


class _Blocks(nn.Module):
    """Input projection, ConvNeXt blocks, norm and output projection, all at the latent rate,
    over frames ``[B, T, C]``."""

    def __init__(self, c_in: int, width: int, c_out: int, blocks: int, expansion: int,
                 kernel: int, int8: bool):
        super().__init__()
        self.int8 = int8
        self.inp = nn.Conv1d(c_in, width, 1)
        self.blocks = nn.ModuleList(ConvNeXtBlock(width, expansion, kernel, int8)
                                    for _ in range(blocks))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Conv1d(width, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pointwise(self, x, self.inp)
        for b in self.blocks:
            x = b(x)
        return pointwise(self, self.norm(x), self.out)

    def init_state(self, batch: int = 1) -> list:
        return [b.init_state(batch) for b in self.blocks]

    def step(self, x: torch.Tensor, state: list) -> torch.Tensor:
        x = pointwise(self, x, self.inp)
        for b, s in zip(self.blocks, state):
            x = b.step(x, s)
        return pointwise(self, self.norm(x), self.out)


class SpectralEncoder(nn.Module):
    """Waveform ``[B, 1, F * hop]`` -> latents ``[B, dim, F]``."""

    def __init__(self, hop: int, dim: int, transform: str = "stft", width: int = 256,
                 blocks: int = 4, expansion: int = 2, kernel: int = 5, int8: bool = False,
                 long_window: int = 0, long_window_hz: int = 0, sample_rate: int = 0):
        # the long window's three values come from CodecConfig (registry.py), set there only
        super().__init__()
        self.hop, self.half = hop, hop // 2
        self.transform = Transform(transform, hop)
        self.long = LowBandAnalysis(hop, long_window, long_window_hz, sample_rate) \
            if long_window else None
        # samples of the past that the first frame's analysis reaches back to
        self.history = max(self.half, self.long.history if self.long else 0)
        extra = 2 * self.long.bins if self.long else 0
        # the short transform's features first: a model grown a long window (train/transplant)
        # keeps its input layer's columns where they were
        self.net = _Blocks(2 * self.transform.coefficients + extra, width, dim, blocks,
                           expansion, kernel, int8)

    def features(self, padded: torch.Tensor) -> torch.Tensor:
        """``[B, 1, history + F * hop]`` -> ``[B, F, features]``: the compressed coefficients
        of the two transform frames of each latent frame, then those of its long frame."""
        short = padded[:, 0, self.history - self.half:]
        halves = short.reshape(padded.shape[0], -1, self.half)    # [B, 2F + 1, half]
        frames = torch.cat([halves[:, :-1], halves[:, 1:]], -1)    # [B, 2F, hop]
        c = self.transform.compress(self.transform.analysis(frames))  # [B, 2F, coef]
        # -1, not a size computed here: the exported graphs take any number of frames
        c = c.reshape(c.shape[0], -1, 2 * c.shape[-1])
        if self.long is None:
            return c
        return torch.cat([c, self.long(padded[:, 0, self.history - self.long.history:])], -1)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.net(self.features(F.pad(wav, (self.history, 0)))).transpose(1, 2)

    def init_state(self, batch: int = 1) -> dict:
        w = self.transform.analysis_basis
        return {"history": w.new_zeros(batch, 1, self.history),
                "net": self.net.init_state(batch)}

    def step(self, wav: torch.Tensor, state: dict) -> torch.Tensor:
        full = torch.cat([state["history"], wav], -1)
        state["history"] = full[..., -self.history:].clone()
        return self.net.step(self.features(full), state["net"]).transpose(1, 2)


class SpectralDecoder(nn.Module):
    """Latents ``[B, dim, F]`` -> waveform ``[B, 1, F * hop]``, ``delay`` samples late.

    Synthesis frames of ``window`` samples (default ``hop``), ``step`` apart (default
    ``window / 2``; ``hop / step`` of them per latent frame), overlap-added. Output sample ``n``
    estimates input sample ``n - delay``, ``delay = window - step``: a sample is complete once
    the last frame that covers it is in. The last ``delay`` samples of each call are the
    overlap-add tail, which the next call completes.
    """

    def __init__(self, hop: int, dim: int, transform: str = "stft", width: int = 256,
                 blocks: int = 6, expansion: int = 2, kernel: int = 5, int8: bool = False,
                 extra_outputs: int = 0, window: int = 0, step: int = 0,
                 frame_outputs: int = 0):
        # for subclasses: extra_outputs, head outputs per synthesis frame besides the
        # coefficients, for their ``coefficients`` (spectral_envelope.py); frame_outputs, head
        # outputs per latent frame after all of those (spectral_pitch.py)
        super().__init__()
        window = window or hop
        step = step or window // 2
        if hop % step or window - step > hop:
            raise ValueError(f"synthesis frames {step} apart must divide the hop {hop}, with a "
                             f"delay (window {window} - step) of at most one hop")
        self.hop, self.frame_step, self.per_frame = hop, step, hop // step
        self.overlap = window // step  # frames that cover each sample
        self.delay = window - step
        self.transform = Transform(transform, window, step)
        self.synthesis_outputs = self.per_frame * (self.transform.coefficients + extra_outputs)
        self.net = _Blocks(dim, width, self.synthesis_outputs + frame_outputs, blocks, expansion,
                           kernel, int8)

    def coefficients(self, head: torch.Tensor) -> torch.Tensor:
        """The head's synthesis outputs ``[B, F, per_frame * coef]`` -> compressed coefficients
        ``[B, per_frame * F, coef]``."""
        return head.reshape(head.shape[0], -1, head.shape[-1] // self.per_frame)

    def frames(self, head: torch.Tensor) -> torch.Tensor:
        """Head output -> windowed time frames ``[B, per_frame * F, window]``."""
        if head.shape[-1] > self.synthesis_outputs:  # a subclass's per-frame outputs follow
            head = head[..., : self.synthesis_outputs]
        return self.transform.synthesis(self.transform.decompress(self.coefficients(head)))

    def _overlap_add(self, frames: torch.Tensor, tail: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``[B, N, window]`` and the pending sums ``[B, 1, delay]`` -> ``N * step``
        complete samples ``[B, 1, N * step]`` and the new pending sums."""
        batch, r = frames.shape[0], self.overlap
        chunks = frames.unflatten(-1, (r, self.frame_step))       # [B, N, r, step]
        # chunk i of frame m lands at step-slot m + i; the tail's r - 1 slots are the first.
        # Ends counted from the end, not sizes read here: the exported graphs take any number
        # of frames.
        total = F.pad(chunks[:, :, 0], (0, 0, 0, r - 1))
        for i in range(1, r):
            total = total + F.pad(chunks[:, :, i], (0, 0, i, r - 1 - i))
        pending = tail.reshape(batch, r - 1, self.frame_step)
        total = torch.cat([total[:, : r - 1] + pending, total[:, r - 1:]], 1)
        return total[:, : 1 - r].reshape(batch, 1, -1), total[:, 1 - r:].reshape(batch, 1, -1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        frames = self.frames(self.net(z.transpose(1, 2)))
        return self._overlap_add(frames, frames.new_zeros(frames.shape[0], 1, self.delay))[0]

    def init_state(self, batch: int = 1) -> dict:
        w = self.transform.synthesis_basis
        return {"tail": w.new_zeros(batch, 1, self.delay), "net": self.net.init_state(batch)}

    def step(self, z: torch.Tensor, state: dict) -> torch.Tensor:
        head = self.net.step(z.transpose(1, 2), state["net"])
        out, state["tail"] = self._overlap_add(self.frames(head), state["tail"])
        return out
