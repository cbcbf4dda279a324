"""Streaming encode and decode: the offline model, run chunk by chunk with explicit state.

``EncoderStream`` / ``DecoderStream`` take any whole number of frames per call and are what the
file encoder and decoder use for long inputs. ``StreamEncoder`` / ``StreamDecoder`` are the
one-frame-one-packet API of a live call (Lyra's shape): one frame (``model.hop`` samples) in,
one payload out; one payload (or ``None`` for a lost packet) in, one frame out, ``delay``
samples late for a kind with a synthesis delay. They run a per-frame backend: ONNX Runtime on
graphs exported from the model's own ``step`` (``nn/export.py``, ``nn/onnx_runtime.py``, with
``pip install 'codec[fast]'``), else the torch modules' ``step`` itself (``"eager"``, the
reference). Tests hold both to the offline model.

Each stream owns its state; the model is shared read-only, so it stays usable offline and by any
number of other streams.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import check_bitrate, check_bytes, check_int, check_model
from .audio import check_signal, to_float32
from .model import Codec
from .nn import onnx_runtime
from .payload import frame_payload, payload_codes


class EncoderStream:
    """Waveform chunks (multiples of the hop) -> codes ``[K, frames]``, state carried over."""

    def __init__(self, model: Codec, num_codebooks: int):
        self.model, self.num_codebooks = model, num_codebooks
        self.state = model.encoder.init_state(1)

    @torch.inference_mode()
    def push(self, wav: np.ndarray, num_codebooks: int | None = None) -> np.ndarray:
        k = self.num_codebooks if num_codebooks is None else num_codebooks
        if len(wav) % self.model.hop:
            raise ValueError(f"chunk of {len(wav)} samples is not a multiple of {self.model.hop}")
        if len(wav) == 0:
            return np.zeros((k, 0), np.int64)
        x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)).view(1, 1, -1)
        z = self.model.encoder.step(x, self.state)
        return self.model.quantizer.encode(z, k)[0].numpy()


class DecoderStream:
    """Codes ``[K, frames]`` -> waveform, state carried over.

    ``aligned`` (files): the output lines up with the encoder's input, so the first ``delay``
    samples of the decoder are dropped and ``finish()`` returns the last ``delay`` samples (the
    overlap-add tail, completed by the last codes decoded once more). Not aligned (live frames):
    each call returns ``frames * hop`` samples, ``delay`` samples late.
    """

    def __init__(self, model: Codec, aligned: bool = True):
        self.model = model
        self.state = model.decoder.init_state(1)
        self._tail = model.delay if aligned else 0  # samples ``finish`` returns
        self._skip = self._tail                     # samples still to drop at the start
        self._last: np.ndarray | None = None        # the last frame's codes, for ``finish``

    @torch.inference_mode()
    def push(self, codes: np.ndarray) -> np.ndarray:
        if codes.shape[-1] == 0:
            return np.zeros(0, np.float32)
        codes = np.asarray(codes, np.int64)
        self._last = codes[:, -1:]
        z = self.model.quantizer.decode(torch.from_numpy(codes)[None])
        wav = self.model.decoder.step(z, self.state)[0, 0].numpy()
        if self._skip:
            wav, self._skip = wav[self._skip:], max(0, self._skip - len(wav))
        return wav

    def finish(self) -> np.ndarray:
        """The last ``delay`` samples of an aligned stream (none for a kind without delay): the
        first ``delay`` samples of one more frame of the last codes (as ``Codec.decode``)."""
        if not self._tail or self._last is None:
            return np.zeros(0, np.float32)
        return self.push(self._last)[: self._tail]


class EagerFrameEncoder:
    """One frame -> its ``K`` codes through the torch modules' ``step`` (the reference)."""

    def __init__(self, model: Codec):
        self._stream = EncoderStream(model, model.config.num_codebooks)

    def prepare(self, num_codebooks: int) -> None:
        """Nothing to build: the modules serve every number of codebooks."""

    def codes(self, frame: np.ndarray, num_codebooks: int) -> np.ndarray:
        return self._stream.push(frame, num_codebooks)[:, 0]


class EagerFrameDecoder:
    """``K`` codes -> one frame through the torch modules' ``step``, ``delay`` samples late."""

    def __init__(self, model: Codec):
        self._stream = DecoderStream(model, aligned=False)

    def samples(self, codes: np.ndarray) -> np.ndarray:
        return self._stream.push(codes[:, None])


BACKENDS = ("auto", "onnxruntime", "eager")


def resolve_backend(backend: str) -> str:
    """``"auto"`` is ONNX Runtime when installed, else the eager torch modules."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "auto":
        return "onnxruntime" if onnx_runtime.available() else "eager"
    if backend == "onnxruntime" and not onnx_runtime.available():
        raise ImportError("the onnxruntime backend needs: pip install 'codec[fast]'")
    return backend


def _as_float_frame(frame: np.ndarray, hop: int) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.shape != (hop,):
        raise ValueError(f"a frame is exactly {hop} samples, got shape {frame.shape}")
    return to_float32(frame)


class StreamEncoder:
    """One frame (``model.hop`` samples, float32 in [-1, 1] or int16) in, one payload out.

    The payload is the frame's codes, coarse first, bit-packed; its length tells the number of
    codebooks. ``bitrate`` (kbps) can be changed between frames. ``backend``: see
    ``resolve_backend``; the one in use is ``self.backend``.
    """

    def __init__(self, model: Codec, bitrate: float = 6.0, backend: str = "auto"):
        self.model = check_model(model)
        self.frame_size = model.hop
        self.backend = resolve_backend(backend)
        self._bits = model.config.codebook_bits
        self._engine = (onnx_runtime.OnnxFrameEncoder(model) if self.backend == "onnxruntime"
                        else EagerFrameEncoder(model))
        self.bitrate = bitrate

    @property
    def bitrate(self) -> float:
        return self._bitrate

    @bitrate.setter
    def bitrate(self, kbps: float) -> None:
        config = self.model.config
        self.num_codebooks = config.codebooks_for(check_bitrate(kbps, config.bitrates))
        self._engine.prepare(self.num_codebooks)  # ONNX Runtime: a session per K, built here
        self._bitrate = float(kbps)

    def encode_codes(self, frame: np.ndarray) -> np.ndarray:
        """The frame's codes ``[K]`` (for senders that build their own packets)."""
        check_signal(frame, "frame", self.frame_size)
        x = np.clip(_as_float_frame(frame, self.frame_size), -1, 1)
        return self._engine.codes(x, self.num_codebooks)

    def encode(self, frame: np.ndarray) -> bytes:
        return frame_payload(self.encode_codes(frame), self._bits)


class StreamDecoder:
    """One payload in, one frame of float32 samples out; ``decode(None)`` conceals a lost frame.

    Concealment repeats the last good codes through the decoder (so its state stays continuous
    and nothing clicks) while fading out: full level for the first lost frame, then down to
    silence over ``fade_frames`` frames. The next good frame fades back in over one frame.

    ``delay``: samples by which the output lags the encoder's input (the kind's synthesis delay;
    0 for SEANet): the frame returned for packet ``n`` ends ``delay`` samples before the end of
    the frame that packet ``n`` encoded.
    """

    def __init__(self, model: Codec, fade_frames: int = 5, backend: str = "auto"):
        self.model, self.fade_frames = check_model(model), check_int(fade_frames, "fade_frames", 1)
        self.frame_size = model.hop
        self.delay = model.delay
        self.backend = resolve_backend(backend)
        self._bits = model.config.codebook_bits
        self._engine = (onnx_runtime.OnnxFrameDecoder(model) if self.backend == "onnxruntime"
                        else EagerFrameDecoder(model))
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

    def conceal(self) -> np.ndarray:
        self._lost_run += 1
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
        return self._engine.samples(codes)

    def _output(self, wav: np.ndarray, target: float) -> np.ndarray:
        """Apply a gain ramp from the previous frame's gain to ``target``, clipped to [-1, 1]."""
        if target == self._gain == 1.0:
            return np.clip(wav, -1.0, 1.0)
        ramp = np.linspace(self._gain, target, self.frame_size + 1, dtype=np.float32)[1:]
        self._gain = target
        return np.clip(wav * ramp, -1.0, 1.0)
