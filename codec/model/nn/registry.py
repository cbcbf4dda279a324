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

from typing import Any, Callable, Protocol, runtime_checkable

import torch
from torch import nn

from ...config import CodecConfig, SEANetConfig, SpectralConfig
from .seanet import Decoder as SEANetDecoder
from .seanet import Encoder as SEANetEncoder
from .spectral import SpectralDecoder, SpectralEncoder
from .spectral_envelope import EnvelopeSpectralDecoder
from .spectral_pitch import PitchSpectralDecoder


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


# A kind's builder: its module from the shared fields of a ``CodecConfig`` (the frame size, the
# latent size, the sample rate) and its own kind's config (``CodecConfig.kind_config``).
Builder = Callable[[CodecConfig, Any], nn.Module]


def _seanet(cls: type) -> Builder:
    def build(c: CodecConfig, k: SEANetConfig) -> nn.Module:
        return cls(dim=c.dim, channels=k.channels, ratios=k.ratios, dilations=k.dilations,
                   kernel_factors=k.kernel_factors)
    return build


def _spectral_encoder(c: CodecConfig, k: SpectralConfig) -> nn.Module:
    return SpectralEncoder(hop=c.hop, dim=c.dim, transform=k.transform, width=k.width,
                           blocks=k.encoder_blocks, expansion=k.expansion, kernel=k.kernel,
                           int8=k.int8, long_window=k.long_window,
                           long_window_hz=k.long_window_hz, sample_rate=c.sample_rate)


def _spectral_decoder(cls: type, takes_rate: bool = False) -> Builder:
    """A spectral decoder: the plain one, or one with a head of its own (which takes the
    sample rate)."""
    def build(c: CodecConfig, k: SpectralConfig) -> nn.Module:
        rate = {"sample_rate": c.sample_rate} if takes_rate else {}
        return cls(hop=c.hop, dim=c.dim, transform=k.transform, width=k.width,
                   blocks=k.decoder_blocks, expansion=k.expansion, kernel=k.kernel, int8=k.int8,
                   window=k.synthesis_window, step=k.synthesis_step, **rate)
    return build


ENCODERS: dict[str, Builder] = {
    "seanet": _seanet(SEANetEncoder),
    "spectral": _spectral_encoder,
}
DECODERS: dict[str, Builder] = {
    "seanet": _seanet(SEANetDecoder),
    "spectral": _spectral_decoder(SpectralDecoder),
    # the same with a gain-shape head: band levels times a normalised spectrum
    "spectral-envelope": _spectral_decoder(EnvelopeSpectralDecoder, takes_rate=True),
    # the same with a comb filter at the pitch of its own output (a pitch prior)
    "spectral-pitch": _spectral_decoder(PitchSpectralDecoder, takes_rate=True),
}


def _build(table: dict[str, Builder], role: str, kind: str, config: CodecConfig) -> nn.Module:
    if kind not in table:
        raise ValueError(f"unknown {role} kind {kind!r}: the kinds are {', '.join(sorted(table))}")
    return table[kind](config, config.kind_config(role))


def build_encoder(config: CodecConfig) -> nn.Module:
    return _build(ENCODERS, "encoder", config.encoder, config)


def build_decoder(config: CodecConfig) -> nn.Module:
    return _build(DECODERS, "decoder", config.decoder, config)
