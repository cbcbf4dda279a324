"""The interfaces the runtime consumes, written down (``tests/test_protocols.py`` holds the
classes to them).

* ``RuntimeModel``: what ``api.py``, ``streaming.py`` and ``net/`` read of a model: a runtime
  ``Engine`` (``engine.py``) or a torch ``codec.Codec`` (``codec/model/codec.py``), which is
  also a ``TorchModel``: the runtime reaches its torch side only through its two methods, so it
  never imports torch.
* ``EncoderBackend`` / ``DecoderBackend``: one stream's encoder and decoder, as a backend gives
  them (``engine.EngineEncoder`` / ``EngineDecoder`` for ONNX Runtime, ``model/eager.py``'s
  ``EagerEncoder`` / ``EagerDecoder`` for the torch modules' own ``step``), each built as
  ``cls(engine)`` from the engine (or, eager, the ``Codec``) and owning its stream's state.
* ``FrameCall``: their per-frame call (``engine.LiveCall``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..config import CodecConfig

if TYPE_CHECKING:
    from .engine import Engine


@runtime_checkable
class RuntimeModel(Protocol):
    """A model as the runtime reads it. ``config`` gives the frame geometry, the bitrates and
    the code width; ``model_id`` (8 bytes) is written into every file and START packet;
    ``hop`` is ``config.hop``; ``delay`` is the decoder's synthesis delay in samples."""

    config: CodecConfig
    model_id: bytes

    @property
    def hop(self) -> int: ...

    @property
    def delay(self) -> int: ...


@runtime_checkable
class TorchModel(RuntimeModel, Protocol):
    """A torch ``Codec`` as the runtime runs it, without importing torch."""

    def runtime_engine(self) -> Engine:
        """Its graphs on ONNX Runtime (``backend="onnxruntime"``), shared by its streams."""

    def eager_streams(self) -> tuple[type[EncoderBackend], type[DecoderBackend]]:
        """The classes of one stream's encoder and decoder that run its torch modules' own
        ``step`` (``backend="eager"``), each built as ``cls(model)``."""


@runtime_checkable
class FrameCall(Protocol):
    """One frame's call on one stream's state: write the input into ``x``, then ``run()``,
    whose output is valid until the next ``run``."""

    x: np.ndarray

    def run(self) -> np.ndarray: ...


@runtime_checkable
class EncoderBackend(Protocol):
    """One stream's encoder: waveform (whole frames) -> codes ``[K, N]``."""

    def prepare(self, num_codebooks: int, live: bool = True) -> object:
        """Build what ``K`` codes a frame need now, not at the first call (``live``: the
        one-frame call's)."""

    def live(self, num_codebooks: int) -> FrameCall:
        """The one-frame call for ``K`` codes: ``x`` is ``[1, 1, hop]`` float32; ``run()``
        gives codes ``[K', 1]`` whose first ``K`` rows are the frame's."""

    def codes(self, wav: np.ndarray, num_codebooks: int) -> np.ndarray:
        """Codes ``[K, N]`` of ``N * hop`` samples, the state carried over."""


@runtime_checkable
class DecoderBackend(Protocol):
    """One stream's decoder: codes ``[K, N]`` -> waveform ``[N * hop]``, ``delay`` late."""

    def prepare(self, live: bool = True) -> None:
        """Build what decoding needs now, not at the first call."""

    def live(self, num_codebooks: int) -> FrameCall:
        """The one-frame call for ``K`` codes: ``x`` is ``[K, 1]`` int64; ``run()`` gives the
        frame's samples ``[1, 1, hop]``."""

    def samples(self, codes: np.ndarray) -> np.ndarray:
        """Samples ``[N * hop]`` of codes ``[K, N]``, the state carried over."""
