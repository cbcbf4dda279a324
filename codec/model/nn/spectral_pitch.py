"""The spectral decoder with a pitch prior: a long-term (comb) filter on its output, as Opus 1.5's
LACE / NoLACE postfilters and FARGAN's pitch-lagged synthesis use.

Per latent frame the decoder's own output (before the filter) gives the lag: the best normalised
correlation of the frame with its past, searched at a quarter of the rate (box-averaged over 4
samples) and refined at the full rate around it, as Opus's pitch search does. The lag is chosen
without gradient; the head predicts, per latent frame, how much of the filter to apply and its
three taps around the lag (a fractional delay), so the filter is learnt by the same losses:

    y[n] = (x[n] + g sum_k t_k x[n - L + 1 - k]) / (1 + g),   g in (0, 1), taps t summing to 1.

The filter is FIR on the pre-filter output ``x``, so a lost frame's error does not recirculate.
Over the first ``FADE`` samples of a frame the previous frame's filter fades out as this frame's
fades in. The lags stay below one hop, so one hop of past output is all the state it needs: it
adds no delay. Everything else is ``SpectralDecoder``'s.
"""

from __future__ import annotations

import math

import torch

from .spectral import SpectralDecoder

MIN_HZ, MAX_HZ = 62.5, 500.0   # fundamental frequencies searched (the lags follow from the rate)
DECIMATION = 4                 # the coarse search's rate: 1 / DECIMATION of the sample rate
PREFER_SHORT = 0.2             # the coarse scores fall by this much from the shortest lag to the
                               # longest, so a multiple of the period (which repeats as well)
                               # does not win over the period
REFINE = 3                     # the fine search: DECIMATION * coarse lag +- REFINE samples
FADE_MS = 5.0                  # the cross-fade between two frames' filters
GAIN_BIAS = -3.0               # the gain's logit starts near here: the filter starts nearly off
PARAMS = 5                     # per frame: lag, gain, three taps (the state keeps the last)


class PitchSpectralDecoder(SpectralDecoder):
    """``SpectralDecoder`` whose output goes through a comb filter at the pitch lag of its own
    output, with a gain and taps that the head predicts per latent frame."""

    def __init__(self, hop: int, dim: int, transform: str = "stft", width: int = 256,
                 blocks: int = 6, expansion: int = 2, kernel: int = 5, int8: bool = False, *,
                 sample_rate: int, window: int = 0, step: int = 0):
        super().__init__(hop, dim, transform, width, blocks, expansion, kernel, int8,
                         window=window, step=step, frame_outputs=4)  # gain and 3 tap logits
        self.min_lag = math.floor(sample_rate / MAX_HZ)
        self.max_lag = math.ceil(sample_rate / MIN_HZ)
        if hop % DECIMATION or self.max_lag + 2 > hop:
            raise ValueError(f"the pitch prior needs a hop of a multiple of {DECIMATION} samples, "
                             f"over {self.max_lag + 1} (its longest lag and tap), got {hop}")
        # coarse search: for lag index l (lag min_c + l), frame sample i reads past sample
        # hop_c + i - lag of the decimated two-frame window
        hop_c = hop // DECIMATION
        lags_c = torch.arange(self.min_lag // DECIMATION, self.max_lag // DECIMATION + 1)
        self.register_buffer("coarse_index", hop_c + torch.arange(hop_c)[None] - lags_c[:, None],
                             persistent=False)
        self.register_buffer("coarse_lags", lags_c * DECIMATION, persistent=False)
        self.register_buffer("coarse_weight", 1 - PREFER_SHORT * (lags_c - lags_c[0])
                             / (lags_c[-1] - lags_c[0]), persistent=False)
        fade = int(round(sample_rate * FADE_MS / 1000))
        ramp = torch.sin(0.5 * math.pi * (torch.arange(hop) + 0.5) / fade).clamp(max=1).pow(2)
        ramp[fade:] = 1.0
        self.register_buffer("fade_in", ramp, persistent=False)  # [hop]

    def _pairs(self, x: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        """``x`` [B, 1, F * hop] and the hop before it -> each frame with the hop before it,
        ``[B, F, 2 * hop]``."""
        chunks = torch.cat([history, x], -1).reshape(x.shape[0], -1, self.hop)
        return torch.cat([chunks[:, :-1], chunks[:, 1:]], -1)

    def _lags(self, pairs: torch.Tensor) -> torch.Tensor:
        """The lag of each frame ``[B, F]`` (long): the best normalised correlation with its
        past, coarse then fine."""
        hop = self.hop
        coarse = pairs.unflatten(-1, (-1, DECIMATION)).mean(-1)      # [B, F, 2 * hop_c]
        frame = coarse[..., coarse.shape[-1] // 2:]                  # [B, F, hop_c]
        past = coarse[..., self.coarse_index]                        # [B, F, lags, hop_c]
        best = (_normalised_correlation(frame, past) * self.coarse_weight).argmax(-1)  # [B, F]
        centre = self.coarse_lags[best]
        offsets = torch.arange(-REFINE, REFINE + 1, device=pairs.device)
        lags = (centre[..., None] + offsets).clamp(self.min_lag, self.max_lag)  # [B, F, 7]
        past = _lagged(pairs, lags, hop)                             # [B, F, 7, hop]
        best = _normalised_correlation(pairs[..., hop:], past).argmax(-1, keepdim=True)
        return lags.gather(-1, best)[..., 0]

    def _comb(self, pairs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """``g sum_k t_k x[n - L + 1 - k]`` over each frame, ``[B, F, hop]``, for the
        (lag, gain, taps) of ``params`` [B, F, PARAMS]."""
        # clamped: a zero state (the runtime starts from zeros) reads a valid lag, with no gain
        lags = params[..., 0].long().clamp(self.min_lag, self.max_lag)
        taps = torch.stack([lags - 1, lags, lags + 1], -1)          # [B, F, 3]
        lagged = _lagged(pairs, taps, self.hop)                      # [B, F, 3, hop]
        weighted = (params[..., 2:, None] * lagged).sum(-2)
        return params[..., 1:2] * weighted

    def _filter(self, x: torch.Tensor, logits: torch.Tensor, history: torch.Tensor,
                previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` [B, 1, F * hop], the head's ``logits`` [B, F, 4], the hop of ``x`` before it and
        the last frame's params -> the filtered output and the new state."""
        pairs = self._pairs(x, history)
        with torch.no_grad():
            lags = self._lags(pairs.detach())
        gain = torch.sigmoid(logits[..., :1] + GAIN_BIAS)
        params = torch.cat([lags[..., None].to(x.dtype), gain, logits[..., 1:].softmax(-1)], -1)
        before = torch.cat([previous, params[:, :-1]], 1)            # each frame's predecessor
        w = self.fade_in
        comb = w * self._comb(pairs, params) + (1 - w) * self._comb(pairs, before)
        norm = 1 + w * params[..., 1:2] + (1 - w) * before[..., 1:2]
        y = (pairs[..., self.hop:] + comb) / norm
        return y.reshape(x.shape[0], 1, -1), x[..., -self.hop:], params[:, -1:]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        head = self.net(z.transpose(1, 2))
        x = self._overlap_add(self.frames(head), head.new_zeros(head.shape[0], 1, self.delay))[0]
        state = self._filter_state(head.shape[0], head)
        return self._filter(x, head[..., self.synthesis_outputs:], *state)[0]

    def _filter_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # no gain: no filter before the start
        return like.new_zeros(batch, 1, self.hop), like.new_zeros(batch, 1, PARAMS)

    def init_state(self, batch: int = 1) -> dict:
        state = super().init_state(batch)
        state["history"], state["previous"] = self._filter_state(batch,
                                                                 self.transform.synthesis_basis)
        return state

    def step(self, z: torch.Tensor, state: dict) -> torch.Tensor:
        head = self.net.step(z.transpose(1, 2), state["net"])
        x, state["tail"] = self._overlap_add(self.frames(head), state["tail"])
        y, state["history"], state["previous"] = self._filter(
            x, head[..., self.synthesis_outputs:], state["history"], state["previous"])
        return y


def _lagged(pairs: torch.Tensor, lags: torch.Tensor, hop: int) -> torch.Tensor:
    """``pairs`` [B, F, 2 * hop] and ``lags`` [B, F, L] -> ``x[n - lag]`` over each frame's
    ``hop`` samples, ``[B, F, L, hop]``."""
    index = hop + torch.arange(hop, device=pairs.device) - lags[..., None]  # [B, F, L, hop]
    # -1s, not sizes read here: the exported graphs take any number of frames
    expanded = pairs[..., None, :].expand(-1, -1, lags.shape[-1], -1)
    return expanded.gather(-1, index)


def _normalised_correlation(frame: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
    """``frame`` [..., N] against each row of ``past`` [..., L, N] -> ``<frame, past> / |past|``,
    ``[..., L]`` (the frame's own norm is common to all rows)."""
    dot = (past * frame[..., None, :]).sum(-1)
    return dot * torch.rsqrt(past.pow(2).sum(-1) + 1e-9)
