"""Bit-packing of integer codes, shared by the ``.cdc`` file format and the packet format.

Codes of shape ``[K, T]`` (K codebooks, T frames) are written frame-major: frame 0's K codes
(coarse first), then frame 1's, and so on. Each code takes ``bits`` bits, most significant bit
first; the last byte is padded with zero bits. Example with ``bits=10``: codes ``[[1], [2]]``
(K=2, T=1) are the 20 bits ``0000000001 0000000010`` + 4 zero bits = ``00 40 20``.

Everything is vectorised with numpy: no Python loop per code.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError

MIN_BITS, MAX_BITS = 1, 16


def packed_size(num_codes: int, bits: int) -> int:
    """Bytes needed for ``num_codes`` codes of ``bits`` bits each: ``ceil(num_codes * bits / 8)``."""
    return (num_codes * bits + 7) // 8


def _check_bits(bits: int) -> None:
    if not isinstance(bits, (int, np.integer)) or not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits per code must be {MIN_BITS}..{MAX_BITS}, got {bits!r}")


def _integer_codes(codes: np.ndarray, bits: int, shape: str) -> np.ndarray:
    """``codes`` as an integer array of ``len(shape)`` dimensions, or ``ValueError``."""
    _check_bits(bits)
    codes = np.asarray(codes)
    if codes.ndim != len(shape.split(",")):
        raise ValueError(f"codes must have shape [{shape}], got shape {codes.shape}")
    if codes.size and codes.dtype.kind not in "iu":
        raise ValueError(f"codes must be integers, got dtype {codes.dtype}")
    return codes


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack integer codes of shape ``[K, T]`` frame-major, ``bits`` bits each, MSB first.

    Raises ``ValueError`` (a caller bug, not a format error) for a non-integer or non-2-D
    array, unsupported ``bits`` or a code outside ``[0, 2**bits)``.
    """
    codes = _integer_codes(codes, bits, "K, T")
    if codes.size == 0:
        return b""
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi >= 1 << bits:
        raise ValueError(f"codes must lie in [0, {1 << bits}) for {bits} bits, got [{lo}, {hi}]")
    flat = codes.T.reshape(-1).astype(">u2")  # frame-major, big-endian 16-bit
    bit_rows = np.unpackbits(flat.view(np.uint8).reshape(-1, 2), axis=1)  # [N, 16], MSB first
    return np.packbits(bit_rows[:, 16 - bits:].reshape(-1)).tobytes()


def unpack_codes(data: bytes, num_codebooks: int, num_frames: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: an ``int64`` array of shape ``[num_codebooks, num_frames]``.

    Raises ``FormatError`` when ``len(data)`` is not exactly ``packed_size(K * T, bits)`` or
    when the padding bits of the last byte are not zero.
    """
    _check_bits(bits)
    if num_codebooks < 0 or num_frames < 0:
        raise ValueError("num_codebooks and num_frames must be >= 0")
    n = num_codebooks * num_frames
    expected = packed_size(n, bits)
    if len(data) != expected:
        raise FormatError(
            f"code payload is {len(data)} bytes, expected {expected} for "
            f"{num_codebooks} x {num_frames} codes of {bits} bits"
        )
    if n == 0:
        return np.zeros((num_codebooks, num_frames), dtype=np.int64)
    all_bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    if all_bits[n * bits:].any():
        raise FormatError("nonzero padding bits after the last code")
    rows = np.zeros((n, 16), dtype=np.uint8)
    rows[:, 16 - bits:] = all_bits[: n * bits].reshape(n, bits)
    flat = np.packbits(rows, axis=1).view(">u2").reshape(-1).astype(np.int64)
    return flat.reshape(num_frames, num_codebooks).T.copy()


# One frame of a live stream holds a dozen codes: for so few, Python's big integers beat the
# dozen numpy calls above by several microseconds. Same layout and the same checks.

def pack_frame(codes: np.ndarray, bits: int) -> bytes:
    """``pack_codes(codes.reshape(-1, 1), bits)`` for the ``[K]`` codes of one frame."""
    codes = _integer_codes(codes, bits, "K")
    value, limit = 0, 1 << bits
    for c in codes.tolist():
        if not 0 <= c < limit:
            raise ValueError(f"codes must lie in [0, {limit}) for {bits} bits, got {c}")
        value = (value << bits) | c
    n = len(codes) * bits
    size = packed_size(len(codes), bits)
    return (value << (8 * size - n)).to_bytes(size, "big")


def unpack_frame(data: bytes, num_codebooks: int, bits: int) -> np.ndarray:
    """``unpack_codes(data, num_codebooks, 1, bits)[:, 0]``, with the same ``FormatError``s."""
    _check_bits(bits)
    if num_codebooks < 0:
        raise ValueError("num_codebooks must be >= 0")
    expected = packed_size(num_codebooks, bits)
    if len(data) != expected:
        raise FormatError(f"code payload is {len(data)} bytes, expected {expected} for "
                          f"{num_codebooks} x 1 codes of {bits} bits")
    value = int.from_bytes(data, "big")
    pad = 8 * expected - num_codebooks * bits
    if value & ((1 << pad) - 1):
        raise FormatError("nonzero padding bits after the last code")
    value >>= pad
    mask = (1 << bits) - 1
    shifts = range(bits * (num_codebooks - 1), -1, -bits)
    return np.array([(value >> s) & mask for s in shifts], dtype=np.int64)
