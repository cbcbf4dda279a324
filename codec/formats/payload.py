"""One frame's payload: its K codes bit-packed, coarse first (pure Python + numpy).

The one place payloads are coded; ``runtime/streaming.py`` (``StreamEncoder`` / ``StreamDecoder``)
and ``packet.py`` (AUDIO packets) both use it. The layout is one frame of a ``.cdc`` file
(``bitpack.py``): MSB first, zero padding bits in the last byte.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from .bitpack import MAX_BITS, pack_frame, packed_size, unpack_frame

MAX_CODEBOOKS = 64  # codes a frame, in a payload, a file or an AUDIO packet
DEFAULT_BITS = 10  # the shipped model's code width (1024-entry codebooks)


def codebooks_from_payload_length(n: int, bits: int = DEFAULT_BITS) -> int:
    """The number of codebooks K whose one-frame payload is ``n = ceil(K * bits / 8)`` bytes.

    For ``bits >= 8`` the payload length grows strictly with K, so K is unique (for 10-bit
    codes: K=1..32 give 2, 3, 4, 5, 7, 8, 9, 10, 12, ... bytes). Raises ``FormatError`` when
    no K in 1..64 matches and ``ValueError`` for ``bits < 8`` (lengths are ambiguous).
    """
    if not 8 <= bits <= MAX_BITS:
        raise ValueError(f"K is recoverable from the payload length only for 8..16 bits, got {bits}")
    k = n * 8 // bits  # the largest K that fits in n bytes
    if not (1 <= k <= MAX_CODEBOOKS and packed_size(k, bits) == n):
        raise FormatError(f"no number of codebooks gives a {n}-byte payload of {bits}-bit codes")
    return k


def frame_payload(codes: np.ndarray, bits: int = DEFAULT_BITS) -> bytes:
    """Bit-pack one frame's codes (shape ``[K]``, coarse first) into ``ceil(K * bits / 8)`` bytes."""
    return pack_frame(codes, bits)


def payload_codes(payload: bytes, num_codebooks: int | None = None, bits: int = DEFAULT_BITS) -> np.ndarray:
    """Inverse of :func:`frame_payload`: an ``int64`` array of shape ``[K]``.

    With ``num_codebooks=None``, K is taken from the payload length (see
    :func:`codebooks_from_payload_length`). Raises ``FormatError`` on a length mismatch.
    """
    if num_codebooks is None:
        num_codebooks = codebooks_from_payload_length(len(payload), bits)
    return unpack_frame(bytes(payload), num_codebooks, bits)
