"""The library functions behind the CLI: compress/decompress in memory, encode/decode files.

Files are processed in blocks with the convolution state carried across them, so a long file
costs the memory of one block and gives the same codes as encoding it whole.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

from . import bitstream
from .errors import AudioInputError
from .io import (BLOCK_SECONDS, atomic_output, open_audio, read_blocks, resample_blocks,
                 to_float32, write_wav_blocks)
from .model import Codec, load_model as _load_model
from .streaming import DecoderStream, EncoderStream

Progress = Callable[[int], None]  # called with the number of new input samples done


@functools.lru_cache(maxsize=1)
def _shipped_model() -> Codec:
    return _load_model()


def load_model(directory: str | Path | None = None) -> Codec:
    """The shipped model (cached), or the model saved in ``directory``."""
    return _shipped_model() if directory is None else _load_model(directory)


@dataclass(frozen=True)
class EncodeResult:
    header: bitstream.Header
    data: bytes

    @property
    def kbps(self) -> float:
        return bitstream.true_bitrate_kbps(self.header, len(self.data))


def encode_blocks(model: Codec, blocks: Iterator[np.ndarray], sample_rate: int,
                  num_samples: int, bitrate: float, progress: Progress | None = None) -> bytes:
    """16 kHz float blocks (any sizes) -> a complete bitstream file's bytes."""
    hop = model.hop
    stream = EncoderStream(model, model.config.codebooks_for(bitrate))
    target = bitstream.output_samples_for(num_samples, sample_rate)
    codes, carry = [], np.zeros(0, np.float32)
    for block in exact_length(blocks, target):
        carry = np.concatenate([carry, block]) if len(carry) else block
        whole = len(carry) - len(carry) % hop
        codes.append(stream.push(np.clip(carry[:whole], -1, 1)))
        carry = carry[whole:]
        if progress:
            progress(len(block))
    if len(carry):
        codes.append(stream.push(np.pad(carry, (0, hop - len(carry)))))
    all_codes = np.concatenate(codes, axis=1) if codes else np.zeros(
        (stream.num_codebooks, 0), np.int64)
    header = bitstream.Header(model.model_id, sample_rate, num_samples, stream.num_codebooks,
                              model.config.codebook_bits, all_codes.shape[1])
    return bitstream.write_bitstream(header, all_codes)


def exact_length(blocks: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """Trim or zero-pad a block stream to exactly ``n`` samples (resampling rounds up)."""
    for b in blocks:
        if n <= 0:
            return
        yield b[:n]
        n -= min(n, len(b))
    if n > 0:
        yield np.zeros(n, np.float32)


def decode_blocks(model: Codec, data: bytes, frames_per_block: int = 250
                  ) -> tuple[bitstream.Header, Iterator[np.ndarray]]:
    """Bitstream bytes -> (header, iterator of 16 kHz float32 blocks in [-1, 1]).

    The whole file is verified (magic, version, model id, sizes, CRC) before any audio comes
    out, so a bad file yields ``FormatError`` and never partial audio.
    """
    header, codes = bitstream.read_bitstream(data, expected_model_id=model.model_id)

    def blocks() -> Iterator[np.ndarray]:
        stream, left = DecoderStream(model), header.output_samples
        for start in range(0, header.num_frames, frames_per_block):
            wav = stream.push(codes[:, start: start + frames_per_block])[:left]
            left -= len(wav)
            yield np.clip(wav, -1.0, 1.0)
    return header, blocks()


def _as_mono(wav: np.ndarray) -> np.ndarray:
    wav = to_float32(wav)
    if wav.ndim == 2:  # [samples, channels], as soundfile returns
        wav = wav.mean(axis=1, dtype=np.float32)
    if wav.ndim != 1:
        raise AudioInputError(f"expected a 1-D signal or [samples, channels], got {wav.shape}")
    return wav


def compress(wav: np.ndarray, sample_rate: int, bitrate: float = 6.0,
             model: Codec | None = None) -> bytes:
    """Encode a signal (1-D, or [samples, channels]; float in [-1, 1] or int16) to bytes."""
    model = model or load_model()
    mono = _as_mono(wav)
    blocks = resample_blocks(iter([mono]), sample_rate, model.config.sample_rate)
    return encode_blocks(model, blocks, sample_rate, len(mono), bitrate)


def decompress(data: bytes, model: Codec | None = None) -> tuple[np.ndarray, int]:
    """Bytes from ``compress`` -> (float32 1-D signal in [-1, 1], 16000)."""
    model = model or load_model()
    header, blocks = decode_blocks(model, bytes(data))
    out = list(blocks)
    wav = np.concatenate(out) if out else np.zeros(0, np.float32)
    return wav.astype(np.float32, copy=False), model.config.sample_rate


def encode_file(src: str | Path, dst: str | Path, bitrate: float = 6.0, force: bool = False,
                model: Codec | None = None, on_open: Callable | None = None,
                progress: Progress | None = None) -> EncodeResult:
    """Encode any audio file soundfile reads (``-`` = stdin) into a bitstream file (``-`` = stdout).

    ``on_open(info)`` is called once the input is open (the CLI uses it for notes and a
    progress bar); ``progress(n)`` after each block.
    """
    model = model or load_model()
    model.config.codebooks_for(bitrate)  # fail on a bad bitrate before reading anything
    if dst != "-" and Path(dst).exists() and not force:
        raise FileExistsError(f"{dst} exists (use --force to overwrite)")
    with open_audio(src) as f:
        if on_open:
            on_open(f)
        blocks = read_blocks(f, model.config.sample_rate, BLOCK_SECONDS)
        data = encode_blocks(model, blocks, f.samplerate, f.frames, bitrate, progress)
    with atomic_output(dst, force) as out:
        out.write(data)
    return EncodeResult(bitstream.read_header(data), data)


def read_input_bytes(src: str | Path | BinaryIO) -> bytes:
    if src == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(src).read_bytes()
    except OSError as e:
        raise AudioInputError(f"cannot read {src}: {e.strerror or e}") from None


def decode_file(src: str | Path, dst: str | Path, rate: int | str | None = None,
                force: bool = False, model: Codec | None = None,
                progress: Progress | None = None) -> bitstream.Header:
    """Decode a bitstream file to 16-bit WAV; ``rate`` = a number or ``"original"`` resamples."""
    model = model or load_model()
    header, blocks = decode_blocks(model, read_input_bytes(src))
    out_rate = model.config.sample_rate
    if rate == "original":
        out_rate = header.sample_rate
    elif rate is not None:
        out_rate = int(rate)
        if not 1000 <= out_rate <= 384000:
            raise ValueError(f"output rate {out_rate} Hz is out of range (1000-384000)")
    if out_rate != model.config.sample_rate:
        # --rate original gives back exactly the input's length; another rate, the rounded one
        m, rate16 = header.output_samples, model.config.sample_rate
        n = header.num_samples if out_rate == header.sample_rate else \
            (2 * m * out_rate + rate16) // (2 * rate16)  # round(m * out_rate / 16000), half up
        blocks = exact_length(resample_blocks(blocks, model.config.sample_rate, out_rate), n)
    if progress:
        blocks = _tap(blocks, progress)
    with atomic_output(dst, force) as f:
        write_wav_blocks(f, blocks, out_rate)
    return header


def _tap(blocks: Iterator[np.ndarray], progress: Progress) -> Iterator[np.ndarray]:
    for b in blocks:
        progress(len(b))
        yield b
