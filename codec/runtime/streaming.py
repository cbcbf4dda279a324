"""Streaming encode and decode: the model run chunk by chunk with explicit state.

``EncoderStream`` / ``DecoderStream`` take any whole number of frames per call and are what the
file encoder and decoder use for long inputs. ``StreamEncoder`` / ``StreamDecoder`` are the
one-frame-one-packet API of a live call (Lyra's shape): one frame (``hop`` samples) in, one
payload out; one payload (or ``None`` for a lost packet) in, one frame out, ``delay`` samples
late for a kind with a synthesis delay.

``model``: ``None`` (the shipped model), a runtime ``Engine`` (``engine.load_engine``), or a torch
``Codec`` (``codec.load_model()``), both ``RuntimeModel``s (``protocols.py``). They run on ONNX
Runtime (``engine.py``: graphs exported from the model's own modules; a ``Codec``'s are exported
when first needed), without importing torch unless a ``Codec`` is passed; ``backend="eager"``
runs a ``Codec``'s torch modules' ``step`` itself, the reference that tests hold the graphs to.
Each backend gives a stream an ``EncoderBackend`` and a ``DecoderBackend`` (``protocols.py``).

Each stream owns its state; the model is shared read-only, so it stays usable offline and by any
number of other streams.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import ArgumentError, check_bitrate, check_bytes, check_choice, check_int
from ..formats.payload import frame_payload, payload_codes
from .audio import frame_into
from .engine import Engine, EngineDecoder, EngineEncoder, shipped_engine
from .protocols import DecoderBackend, EncoderBackend, FrameCall, RuntimeModel

BACKENDS = ("auto", "onnxruntime", "eager")


def is_codec(model) -> bool:
    """Whether ``model`` is a torch ``codec.Codec``, asked without importing torch (a Codec can
    only exist once ``codec.model.codec``, which defines it, has been imported)."""
    module = sys.modules.get("codec.model.codec")
    return module is not None and isinstance(model, module.Codec)


def check_model(model, name: str = "model", optional: bool = False) -> RuntimeModel | None:
    """A runtime ``Engine`` (``codec.load_engine()``) or a torch ``codec.Codec``
    (``codec.load_model()``); ``None`` too when ``optional``."""
    if (model is None and optional) or isinstance(model, Engine) or is_codec(model):
        return model
    raise ArgumentError(f"{name} must be a codec.Engine (codec.load_engine()) or a codec.Codec "
                        f"(codec.load_model()){' or None' if optional else ''}, "
                        f"got {type(model).__name__}")


def resolve_backend(backend: str, model=None) -> str:
    """``"auto"`` is ONNX Runtime; ``"eager"`` (the torch modules) needs a torch ``Codec``. The
    one check of a backend name (``ArgumentError``) for every stream that takes one."""
    check_choice(backend, BACKENDS, "backend")
    if backend == "eager" and not is_codec(model):
        raise ArgumentError("the eager backend runs a torch Codec: pass codec.load_model()")
    return "onnxruntime" if backend == "auto" else backend


def runtime_model(model=None) -> RuntimeModel:
    """``model`` checked (an ``Engine`` or a torch ``Codec``), or the shipped engine."""
    return check_model(model, optional=True) or shipped_engine()


def _engines(model: RuntimeModel, backend: str
             ) -> tuple[type[EncoderBackend], type[DecoderBackend], RuntimeModel]:
    """The per-stream encoder and decoder classes for ``model`` on ``backend``, and the engine
    (or the ``Codec`` itself for ``eager``) they are built on."""
    if resolve_backend(backend, model) == "eager":
        return (*model.eager_streams(), model)  # a TorchModel's
    if isinstance(model, Engine):
        return EngineEncoder, EngineDecoder, model
    return EngineEncoder, EngineDecoder, model.runtime_engine()  # a Codec's own (TorchModel)


class EncoderStream:
    """Waveform chunks (multiples of the hop) -> codes ``[K, frames]``, state carried over."""

    def __init__(self, model: RuntimeModel | None, num_codebooks: int, backend: str = "auto"):
        self.model, self.num_codebooks = runtime_model(model), num_codebooks
        encoder, _, engine = _engines(self.model, backend)
        self._engine: EncoderBackend = encoder(engine)

    def push(self, wav: np.ndarray, num_codebooks: int | None = None) -> np.ndarray:
        k = self.num_codebooks if num_codebooks is None else num_codebooks
        if len(wav) % self.model.hop:
            raise ValueError(f"chunk of {len(wav)} samples is not a multiple of {self.model.hop}")
        if len(wav) == 0:
            return np.zeros((k, 0), np.int64)
        return self._engine.codes(wav, k)

    def live(self, num_codebooks: int) -> FrameCall:
        """The one-frame call for ``K`` codes (``engine.LiveCall``): write the frame into its
        ``x`` (``[1, 1, hop]``), ``run()`` returns codes whose first ``K`` rows are the frame's."""
        return self._engine.live(num_codebooks)

    def prepare(self, num_codebooks: int) -> None:
        """Build the session ``push`` needs for ``num_codebooks`` codes now, not at the first
        call (``live`` builds the per-frame one)."""
        self._engine.prepare(num_codebooks, False)


class DecoderStream:
    """Codes ``[K, frames]`` -> waveform, state carried over.

    ``aligned`` (files): the output lines up with the encoder's input, so the first ``delay``
    samples of the decoder are dropped and ``finish()`` returns the last ``delay`` samples (the
    overlap-add tail, completed by the last codes decoded once more). Not aligned (live frames):
    each call returns ``frames * hop`` samples, ``delay`` samples late.
    """

    def __init__(self, model: RuntimeModel | None, aligned: bool = True, backend: str = "auto"):
        self.model = runtime_model(model)
        _, decoder, engine = _engines(self.model, backend)
        self._engine: DecoderBackend = decoder(engine)
        self._tail = self.model.delay if aligned else 0  # samples ``finish`` returns
        self._skip = self._tail                          # samples still to drop at the start
        self._last: np.ndarray | None = None             # the last frame's codes, for ``finish``

    def push(self, codes: np.ndarray) -> np.ndarray:
        if codes.shape[-1] == 0:
            return np.zeros(0, np.float32)
        codes = np.asarray(codes, np.int64)
        self._last = codes[:, -1:]
        wav = self._engine.samples(codes)
        if self._skip:
            wav, self._skip = wav[self._skip:], max(0, self._skip - len(wav))
        return wav

    def live(self, num_codebooks: int) -> FrameCall:
        """The one-frame call for ``K`` codes (``engine.LiveCall``), outside the alignment
        above: write codes ``[K, 1]`` into its ``x``; ``run()`` returns ``[1, 1, hop]`` samples."""
        return self._engine.live(num_codebooks)

    def prepare(self) -> None:
        """Build the session ``push`` needs now, not at the first call (``live`` builds the
        per-frame one)."""
        self._engine.prepare(False)

    def finish(self) -> np.ndarray:
        """The last ``delay`` samples of an aligned stream (none for a kind without delay): the
        first ``delay`` samples of one more frame of the last codes (as ``Codec.decode``)."""
        if not self._tail or self._last is None:
            return np.zeros(0, np.float32)
        return self.push(self._last)[: self._tail]


class StreamEncoder:
    """One frame (``model.hop`` samples, float32 in [-1, 1] or int16) in, one payload out.

    The payload is the frame's codes, coarse first, bit-packed; its length tells the number of
    codebooks. ``bitrate`` (kbps) can be changed between frames. ``backend``: see
    ``resolve_backend``; the one in use is ``self.backend``.
    """

    def __init__(self, model: RuntimeModel | None = None, bitrate: float = 6.0,
                 backend: str = "auto"):
        self.model = runtime_model(model)
        self.frame_size = self.model.hop
        self.backend = resolve_backend(backend, self.model)
        self._bits = self.model.config.codebook_bits
        self._stream = EncoderStream(self.model, self.model.config.num_codebooks, backend)
        self.bitrate = bitrate

    @property
    def bitrate(self) -> float:
        return self._bitrate

    @bitrate.setter
    def bitrate(self, kbps: float) -> None:
        config = self.model.config
        self.num_codebooks = config.codebooks_for(check_bitrate(kbps, config))
        self._call = self._stream.live(self.num_codebooks)  # built here, not mid-call
        self._bitrate = float(kbps)

    def _codes(self, frame: np.ndarray) -> np.ndarray:
        """The frame's codes ``[K]``: a view, valid until the next frame."""
        call = self._call
        frame_into(call.x.reshape(-1), frame)
        return call.run()[: self.num_codebooks, 0]

    def encode_codes(self, frame: np.ndarray) -> np.ndarray:
        """The frame's codes ``[K]`` (for senders that build their own packets)."""
        return self._codes(frame).copy()

    def encode(self, frame: np.ndarray) -> bytes:
        return frame_payload(self._codes(frame), self._bits)


class StreamDecoder:
    """One payload in, one frame of float32 samples out; ``decode(None)`` conceals a lost frame.

    Concealment runs codes through the decoder (so its state stays continuous and nothing
    clicks). When the next frame's payload has already arrived (a jitter buffer holds it:
    ``conceal(upcoming)``), its codes stand in for the lost frame at full level; measured on
    held-out speakers this beats repeating the past (docs/STREAMING.md). Otherwise the last
    good codes are repeated while fading out: full level for the first lost frame, then down to
    silence over ``fade_frames`` frames. The next good frame fades back in over one frame.

    ``delay``: samples by which the output lags the encoder's input (the kind's synthesis delay;
    0 for SEANet): the frame returned for packet ``n`` ends ``delay`` samples before the end of
    the frame that packet ``n`` encoded.
    """

    def __init__(self, model: RuntimeModel | None = None, fade_frames: int = 5,
                 backend: str = "auto"):
        self.model = runtime_model(model)
        self.fade_frames = check_int(fade_frames, "fade_frames", 1)
        self.frame_size = self.model.hop
        self.delay = self.model.delay
        self.backend = resolve_backend(backend, self.model)
        self._bits = self.model.config.codebook_bits
        self._stream = DecoderStream(self.model, aligned=False, backend=backend)
        self._stream.live(self.model.config.num_codebooks)  # sessions built now, not at a packet
        self._last_codes: np.ndarray | None = None
        self.num_codebooks = 0  # K of the last payload decoded (its length tells K)
        self._lost_run = 0
        self._gain = 1.0

    def decode(self, payload: bytes | None) -> np.ndarray:
        if payload is None:
            return self.conceal()
        payload = check_bytes(payload, "payload")
        codes = payload_codes(payload, None, self._bits)
        if len(codes) > self.model.config.num_codebooks:
            raise ValueError(f"payload has {len(codes)} codebooks, the model has "
                             f"{self.model.config.num_codebooks}")
        self._last_codes, self._lost_run, self.num_codebooks = codes, 0, len(codes)
        return self._output(self._run(codes), 1.0)

    def conceal(self, upcoming: bytes | None = None) -> np.ndarray:
        """A frame for a lost payload; ``upcoming``: the next frame's payload, if it is here."""
        self._lost_run += 1
        if upcoming is not None:
            codes = payload_codes(check_bytes(upcoming, "upcoming"), None, self._bits)
            if len(codes) <= self.model.config.num_codebooks:
                return self._output(self._run(codes), 1.0)
        if self._last_codes is None:  # nothing heard yet: silence, state untouched
            return np.zeros(self.frame_size, np.float32)
        wav = self._run(self._last_codes)
        target = max(0.0, 1.0 - (self._lost_run - 1) / self.fade_frames)
        return self._output(wav, target)

    def flush(self) -> np.ndarray:
        """At the end of a stream, the last ``delay`` samples of the last frame decoded (none for
        a kind without delay, or before any packet): one more frame of the last codes, as
        ``Codec.decode`` completes a file. The stream is over after it."""
        if not self.delay or self._last_codes is None:
            return np.zeros(0, np.float32)
        return self._output(self._run(self._last_codes), self._gain)[: self.delay].copy()

    def _run(self, codes: np.ndarray) -> np.ndarray:
        """One frame of samples from codes ``[K]``: a view, valid until the next frame."""
        call = self._stream.live(len(codes))  # built once per K by the engine
        call.x[:, 0] = codes
        return call.run().reshape(-1)

    def _output(self, wav: np.ndarray, target: float) -> np.ndarray:
        """A new array: ``wav`` with a gain ramp from the previous frame's gain to ``target``,
        clipped to [-1, 1]."""
        if target == self._gain == 1.0:
            out = np.maximum(wav, -1.0)
        else:
            ramp = np.linspace(self._gain, target, self.frame_size + 1, dtype=np.float32)[1:]
            self._gain = target
            out = np.maximum(wav * ramp, -1.0)
        return np.minimum(out, 1.0, out=out)
