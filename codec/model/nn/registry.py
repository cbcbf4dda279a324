"""Kinds of encoder and decoder, by the name a ``CodecConfig`` gives them, and their contract.

The contract every kind keeps is written down as ``EncoderKind`` / ``DecoderKind`` below
(``tests/test_protocols.py`` holds every registered kind to their methods, ``tests/test_kinds.py``
to what they compute):
- encoder: waveform ``[B, 1, F * hop]`` -> latents ``[B, dim, F]``; decoder: the reverse.
- Causal: output frame ``f`` depends on input up to the end of frame ``f`` only.
- Explicit streaming state: ``init_state(batch)`` and ``step(x, state)``, with ``step`` over
  consecutive chunks equal to ``forward`` over their concatenation. The state is a structure of
  lists, dicts and dataclasses of tensors (``model/export.py`` makes each tensor a graph input
  and output), owned by the caller.
- The decoder declares ``delay`` (samples; 0 for none): its output sample ``n`` estimates input
  sample ``n - delay``. Where a signal ends, its last ``delay`` samples are completed by one more
  frame decoded from the last frame's codes repeated (``Codec.decode``, ``DecoderStream.finish``,
  ``StreamDecoder.flush``: all three agree), so aligned outputs are exactly as long as the input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

import torch
from torch import nn

from .seanet import Decoder as SEANetDecoder
from .seanet import Encoder as SEANetEncoder
from .spectral import SpectralDecoder, SpectralEncoder
from .spectral_envelope import EnvelopeSpectralDecoder
from .spectral_pitch import PitchSpectralDecoder

if TYPE_CHECKING:
    from ...config import CodecConfig


@runtime_checkable
class EncoderKind(Protocol):
    """An encoder kind (an ``nn.Module``): waveform ``[B, 1, F * hop]`` -> latents
    ``[B, dim, F]``, offline (``forward``) or chunk by chunk (``step``). The data argument is
    positional (its name is the kind's own)."""

    def forward(self, wav: torch.Tensor, /) -> torch.Tensor: ...

    def init_state(self, batch: int = 1) -> Any:
        """A fresh streaming state for ``batch`` streams."""

    def step(self, wav: torch.Tensor, /, state: Any) -> torch.Tensor:
        """``forward`` of the next chunk (whole frames), ``state`` updated in place."""


@runtime_checkable
class DecoderKind(Protocol):
    """A decoder kind (an ``nn.Module``): latents ``[B, dim, F]`` -> waveform
    ``[B, 1, F * hop]``, ``delay`` samples late."""

    delay: int

    def forward(self, z: torch.Tensor, /) -> torch.Tensor: ...

    def init_state(self, batch: int = 1) -> Any:
        """A fresh streaming state for ``batch`` streams."""

    def step(self, z: torch.Tensor, /, state: Any) -> torch.Tensor:
        """``forward`` of the next chunk (whole frames), ``state`` updated in place."""


Builder = Callable[["CodecConfig"], nn.Module]

ENCODERS: dict[str, Builder] = {
    "seanet": lambda c: SEANetEncoder(c.channels, c.ratios, c.dim, c.dilations,
                                      c.kernel_factors),
    "spectral": lambda c: SpectralEncoder(c.hop, c.dim, c.transform, c.width, c.encoder_blocks,
                                          c.expansion, c.kernel, c.int8, c.long_window,
                                          c.long_window_hz, c.sample_rate),
}
DECODERS: dict[str, Builder] = {
    "seanet": lambda c: SEANetDecoder(c.channels, c.ratios, c.dim, c.dilations,
                                      c.kernel_factors),
    "spectral": lambda c: SpectralDecoder(c.hop, c.dim, c.transform, c.width, c.decoder_blocks,
                                          c.expansion, c.kernel, c.int8,
                                          window=c.synthesis_window, step=c.synthesis_step),
    # the same with a gain-shape head: band levels times a normalised spectrum
    "spectral-envelope": lambda c: EnvelopeSpectralDecoder(
        c.hop, c.dim, c.transform, c.width, c.decoder_blocks, c.expansion, c.kernel, c.int8,
        sample_rate=c.sample_rate, window=c.synthesis_window, step=c.synthesis_step),
    # the same with a comb filter at the pitch of its own output (a pitch prior)
    "spectral-pitch": lambda c: PitchSpectralDecoder(
        c.hop, c.dim, c.transform, c.width, c.decoder_blocks, c.expansion, c.kernel, c.int8,
        sample_rate=c.sample_rate, window=c.synthesis_window, step=c.synthesis_step),
}


def _build(table: dict[str, Builder], role: str, kind: str, config: "CodecConfig") -> nn.Module:
    if kind not in table:
        raise ValueError(f"unknown {role} kind {kind!r}: the kinds are {', '.join(sorted(table))}")
    return table[kind](config)


def build_encoder(config: "CodecConfig") -> nn.Module:
    return _build(ENCODERS, "encoder", config.encoder, config)


def build_decoder(config: "CodecConfig") -> nn.Module:
    return _build(DECODERS, "decoder", config.decoder, config)
