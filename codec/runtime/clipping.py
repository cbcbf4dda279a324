"""Input that was clipped before it reached the codec, or that goes beyond full scale: found on
the input's own samples (before any downmix or resampling) and said once per input, as a
``ClippingWarning``.

The codec cannot undo either: samples beyond full scale are clipped before the encoder, and the
model saturates on loud clipped speech (measured with the shipped model on ``samples/*.flac``
at +30 dB, clipped: 3.2 to 5.6 dB quieter, while the same speech peaking at full scale, not
clipped, keeps its level to within 0.5 dB, the child's -1.9 dB aside, which it has at any level).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import ClippingWarning

FULL_SCALE = np.float32(32767 / 32768)  # the largest 16-bit sample: at or above it, "at" full scale
MIN_RUN = 3  # samples in a row at full scale that only clipping makes


class ClipCheck:
    """Counts, block by block, samples beyond full scale and runs of ``MIN_RUN`` or more samples
    at full scale, of one sign, in one channel (a run split across two blocks is not counted)."""

    def __init__(self):
        self.beyond = self.runs = 0
        self.peak = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Check a block (float, ``[samples]`` or ``[samples, channels]``); returns it."""
        if not x.size:
            return x
        columns = x.reshape(len(x), -1)
        a = np.abs(columns)
        self.peak = max(self.peak, float(a.max()))
        self.beyond += int(np.count_nonzero(a > 1))
        at_full = (a >= FULL_SCALE) & (a <= 1)
        self.runs += _runs(at_full & (columns > 0)) + _runs(at_full & (columns < 0))
        return x

    def message(self, name: str) -> str | None:
        """One line naming the input and what was found, or None when it is clean."""
        found = []
        if self.beyond:
            them = "it" if self.beyond == 1 else "them"
            found.append(f"{_count(self.beyond, 'sample')} beyond full scale (peak "
                         f"{20 * math.log10(self.peak):+.1f} dBFS; the codec clips {them})")
        if self.runs:
            found.append(f"{_count(self.runs, 'run')} of {MIN_RUN} or more samples at full "
                         "scale (clipped before it reached the codec)")
        if not found:
            return None
        return (f"{name}: {' and '.join(found)}: clipped speech decodes quieter and distorted; "
                "lower the input's level")

    def warn(self, name: str, stacklevel: int = 2) -> None:
        """Say what was found, once (a ``ClippingWarning``); nothing for a clean input."""
        text = self.message(name)
        if text:
            warnings.warn(text, ClippingWarning, stacklevel=stacklevel + 1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _runs(full: np.ndarray) -> int:
    """Runs of ``MIN_RUN`` or more ``True`` in each column of ``full`` ``[samples, channels]``."""
    if len(full) < MIN_RUN:
        return 0
    window = np.lib.stride_tricks.sliding_window_view(full, MIN_RUN, axis=0).all(axis=-1)
    before = np.concatenate([np.zeros_like(full[:1]), full[: len(window) - 1]])
    return int(np.count_nonzero(window & ~before))


class CheckedFile:
    """An open ``soundfile.SoundFile`` whose reads pass through a ``ClipCheck`` (the reader
    downmixes and resamples after it)."""

    def __init__(self, f, check: ClipCheck):
        self._f, self._check = f, check

    def __getattr__(self, name):
        return getattr(self._f, name)

    def read(self, *args, **kwargs):
        data = self._f.read(*args, **kwargs)
        return self._check.push(data) if data.dtype.kind == "f" else data
