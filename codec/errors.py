"""The error types (all ``ValueError``s) and the argument checks of the library boundary.

The checks run before any work, and their messages name the argument and what was expected.
"""

from __future__ import annotations

import math
import numbers

MIN_RATE, MAX_RATE = 1_000, 384_000  # Hz, for every rate a caller passes


class FormatError(ValueError):
    """Data that is not a valid bitstream, packet or weights file for this codec.

    Raised for a wrong magic, an unknown format version, another model's id, truncated or
    oversized data, inconsistent header fields and CRC mismatches. Being a ``ValueError``,
    it can be caught as one.
    """


class AudioInputError(ValueError):
    """Input audio that cannot be encoded: unreadable, not audio, a rate out of range, an array
    of the wrong shape or dtype, or samples holding NaN/infinity."""


class ArgumentError(ValueError):
    """An argument of the wrong type or out of range (a bitrate, a model, a payload...)."""


class ClippingWarning(UserWarning):
    """Input audio with samples beyond full scale or clipped before it reached the codec (said
    once per input; it is encoded all the same)."""


def show(value) -> str:
    """A value as a message shows it: numbers plainly (``4``, ``nan``), anything else by repr."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value):g}" if not isinstance(value, numbers.Integral) else str(int(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integral(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    f = float(value)
    return int(f) if math.isfinite(f) and f.is_integer() else None


def check_sample_rate(value, name: str = "sample_rate", error: type = ArgumentError) -> int:
    """A sample rate: an integer (Python, numpy, or an integral float) from 1,000 to 384,000 Hz."""
    rate = _integral(value)
    if rate is None or not MIN_RATE <= rate <= MAX_RATE:
        raise error(f"{name} must be a whole number of Hz from {MIN_RATE} to "
                    f"{MAX_RATE}, got {show(value)}")
    return rate


def one_of(names) -> str:
    """``a, b or c``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def format_bitrates(bitrates) -> str:
    """``1.5, 3, 6 or 9``."""
    return one_of(f"{b:g}" for b in bitrates)


def check_bitrate(value, config, name: str = "bitrate") -> float:
    """One of the bitrates (kbps) a model with this ``CodecConfig`` takes, as a float; the rule
    is ``CodecConfig.codebooks_for``'s."""
    try:
        config.codebooks_for(value)
    except ValueError:
        raise ArgumentError(f"{name} must be {format_bitrates(config.bitrates)} kbps, "
                            f"got {show(value)}") from None
    return float(value)


def check_choice(value, choices, name: str):
    """One of ``choices`` (names, e.g. of backends)."""
    if not isinstance(value, str) or value not in choices:
        raise ArgumentError(f"{name} must be {one_of(map(repr, choices))}, got {show(value)}")
    return value


def check_bytes(data, name: str = "data") -> bytes:
    """Bytes-like data (``bytes``, ``bytearray``, ``memoryview``) as ``bytes``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ArgumentError(f"{name} must be bytes, got {type(data).__name__}")
    return bytes(data)


def check_int(value, name: str, low: int, high: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` (no upper limit when ``None``)."""
    n = _integral(value)
    if n is None or n < low or (high is not None and n > high):
        to = f" to {high}" if high is not None else " or more"
        raise ArgumentError(f"{name} must be a whole number from {low}{to}, got {show(value)}")
    return n
