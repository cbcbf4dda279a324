"""Audio files in and out, block by block: read, downmix, resample, write.

Long files are never held whole: ``read_blocks`` yields 16 kHz mono float32 blocks, and the
``Resampler`` gives exactly the samples that ``torchaudio.functional.resample`` gives on the whole
signal, because each block is resampled with enough context on both sides. Inputs that are not
audio, or that hold NaN or infinity, raise ``AudioInputError`` with a one-line reason.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import torch
from torchaudio.functional import resample

from .errors import AudioInputError

BLOCK_SECONDS = 5.0  # block size for long files: small next to memory, large next to overheads


class Resampler:
    """Streaming sample-rate conversion, equal to resampling the whole signal at once.

    Rates are reduced by their gcd to ``L`` input samples per ``M`` output samples. Output
    units (``M`` samples) are produced once ``pad`` units of input context exist on both sides.
    """

    def __init__(self, orig: int, new: int):
        g = math.gcd(orig, new)
        self.orig, self.new, self.L, self.M = orig, new, orig // g, new // g
        # torchaudio's sinc kernel spans about 6 * L / (0.99 * min(L, M)) input samples per side.
        width = math.ceil(6 * self.L / (0.99 * min(self.L, self.M))) + 1
        self.pad = math.ceil(width / self.L)
        self._hist = np.zeros(self.pad * self.L, np.float32)  # zeros before the signal start
        self._fed = 0
        self._emitted = 0

    def _run(self, units: int) -> np.ndarray:
        span = (units + 2 * self.pad) * self.L
        x = torch.from_numpy(self._hist[:span])
        y = resample(x, self.L, self.M).numpy()
        self._hist = self._hist[units * self.L:]
        return y[self.pad * self.M: (self.pad + units) * self.M]

    def push(self, x: np.ndarray) -> np.ndarray:
        if self.L == self.M:
            return x
        self._fed += len(x)
        self._hist = np.concatenate([self._hist, x.astype(np.float32, copy=False)])
        units = len(self._hist) // self.L - 2 * self.pad
        out = self._run(units) if units > 0 else np.zeros(0, np.float32)
        self._emitted += len(out)
        return out

    def flush(self) -> np.ndarray:
        """The remaining output, up to ``ceil(fed * M / L)`` samples in total."""
        if self.L == self.M:
            return np.zeros(0, np.float32)
        total = -(-self._fed * self.M // self.L)
        tail_pad = (-len(self._hist)) % self.L + (self.pad + 1) * self.L
        self._hist = np.concatenate([self._hist, np.zeros(tail_pad, np.float32)])
        units = len(self._hist) // self.L - 2 * self.pad
        out = self._run(units)[: max(0, total - self._emitted)]
        self._emitted += len(out)
        return out


@dataclass
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int  # samples per channel


def open_audio(source: str | Path | BinaryIO) -> sf.SoundFile:
    """Open any file soundfile reads; ``-`` reads all of stdin first (pipes cannot seek)."""
    if source == "-":
        source = io.BytesIO(sys.stdin.buffer.read())
    try:
        return sf.SoundFile(source)
    except sf.LibsndfileError as e:
        raise AudioInputError(f"cannot read audio from {_name(source)}: {e}") from None
    except OSError as e:
        raise AudioInputError(f"cannot open {_name(source)}: {e.strerror or e}") from None


def _name(source) -> str:
    return "stdin" if isinstance(source, io.BytesIO) else str(source)


def read_blocks(f: sf.SoundFile, sample_rate: int = 16000,
                block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``sample_rate`` from an open file, downmixed and resampled."""
    return resample_blocks(_mono_blocks(f, max(1, int(block_seconds * f.samplerate))),
                           f.samplerate, sample_rate)


def _mono_blocks(f: sf.SoundFile, block: int) -> Iterator[np.ndarray]:
    while True:
        try:
            data = f.read(block, dtype="float32", always_2d=True)
        except sf.LibsndfileError as e:
            raise AudioInputError(f"cannot decode audio: {e}") from None
        if len(data) == 0:
            return
        mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
        check_finite(mono)
        yield mono


def check_finite(x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise AudioInputError("input holds NaN or infinite samples")


def to_float32(x: np.ndarray) -> np.ndarray:
    """Samples as float32: int16 scaled to [-1, 1), floats cast; NaN or infinity refused."""
    x = np.asarray(x)
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    x = x.astype(np.float32, copy=False)
    check_finite(x)
    return x


def resample_blocks(blocks: Iterator[np.ndarray], orig: int, new: int) -> Iterator[np.ndarray]:
    """The same blocks at another rate (``Resampler`` over a stream of blocks)."""
    rs = Resampler(orig, new)
    for b in blocks:
        out = rs.push(b)
        if len(out):
            yield out
    tail = rs.flush()
    if len(tail):
        yield tail


@contextmanager
def atomic_output(dest: str | Path, force: bool = False) -> Iterator[BinaryIO]:
    """A binary file object whose content appears at ``dest`` only if the block succeeds.

    Writes to a temporary file beside ``dest`` and renames it at the end, so an interrupted run
    never leaves a partial file under the final name. ``-`` is standard output, written once
    complete (through a temporary file, since WAV headers are rewritten at the end).
    """
    if dest == "-":
        with tempfile.TemporaryFile() as f:
            yield f
            f.seek(0)
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    dest = Path(dest)
    if dest.exists() and not force:
        raise FileExistsError(f"{dest} exists (use --force to overwrite)")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_wav_blocks(f: BinaryIO, blocks: Iterator[np.ndarray], sample_rate: int) -> int:
    """Write float blocks, clipped to [-1, 1], as 16-bit PCM WAV; returns samples written."""
    n = 0
    with sf.SoundFile(f, "w", sample_rate, 1, "PCM_16", format="WAV") as out:
        for b in blocks:
            out.write(np.clip(b, -1.0, 1.0))
            n += len(b)
    return n
