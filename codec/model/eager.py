"""The reference per-stream engine: the torch modules' own ``step`` (``backend="eager"``).

``EagerEncoder`` / ``EagerDecoder`` are an ``EncoderBackend`` / ``DecoderBackend``
(``runtime/protocols.py``), as ``runtime/engine.py``'s ``EngineEncoder`` / ``EngineDecoder``
are; ``tests/test_protocols.py`` holds both pairs to them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn


class EagerLive:
    """A ``FrameCall`` over the eager step: fill ``x``, ``run()``."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], x: np.ndarray):
        self.x, self._run = x, run

    def run(self) -> np.ndarray:
        return self._run(self.x)


class EagerEncoder:
    """One stream's encoder: waveform (whole frames) -> codes ``[K, N]``."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.state = model.encoder.init_state(1)

    def prepare(self, num_codebooks: int, live: bool = True) -> None:
        """Nothing to build: the torch modules run as they are."""

    def live(self, num_codebooks: int) -> EagerLive:
        return EagerLive(lambda x: self.codes(x, num_codebooks),
                         np.zeros((1, 1, self.model.hop), np.float32))

    @torch.inference_mode()
    def codes(self, wav: np.ndarray, num_codebooks: int) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)).view(1, 1, -1)
        z = self.model.encoder.step(x, self.state)
        levels, beam = self.model.config.search_for(num_codebooks)
        return self.model.quantizer.encode(z, levels, beam)[0, :num_codebooks].numpy()


class EagerDecoder:
    """One stream's decoder: codes ``[K, N]`` -> waveform ``[N * hop]``, ``delay`` late."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.state = model.decoder.init_state(1)

    def prepare(self, live: bool = True) -> None:
        """Nothing to build: the torch modules run as they are."""

    def live(self, num_codebooks: int) -> EagerLive:
        return EagerLive(lambda x: self.samples(x)[None, None], np.zeros((num_codebooks, 1), np.int64))

    @torch.inference_mode()
    def samples(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, np.int64)
        z = self.model.quantizer.decode(torch.from_numpy(codes)[None])
        wav = self.model.decoder.step(z, self.state)[0, 0]
        return (wav * self.model.config.output_gains()[len(codes)]).numpy()
