"""UDP packets for live streaming (pure Python + numpy; layout in ``docs/PROTOCOL.md``).

Every packet starts with a 12-byte common header (little-endian)::

    magic 0xC5 u8 | (packet version << 4 | packet type) u8 | stream id u32 | model tag (2 bytes)
    | seq u32

then, per type:

* START (1), 27 bytes: model id (8 bytes) | sample rate u32 | frame size u16 | codebook bits u8.
  The model id implies the frame geometry; the rate and frame size repeat it as a check.
  ``seq`` is the sequence number of the first audio frame to follow (normally 0).
* AUDIO (2), 17 + payload bytes: timestamp u32 | num codebooks u8 | payload. ``seq`` is the
  frame index (counted from 0); the payload is one frame's K codes bit-packed, coarse first,
  exactly ``ceil(K * bits / 8)`` bytes.
* END (3), 20 bytes: total samples u64 (at the model's rate, so the receiver trims exactly). ``seq`` is
  the number of audio frames in the stream, i.e. one past the last audio sequence number.

:func:`decode_packet` does bounded work and raises only :class:`~codec.errors.FormatError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..errors import FormatError
from ..version import PACKET_VERSION
from .bitpack import MAX_BITS, MIN_BITS, packed_size
from .bitstream import MAX_SAMPLE_RATE, MODEL_ID_SIZE
from .payload import DEFAULT_BITS, MAX_CODEBOOKS, frame_payload, payload_codes

PACKET_MAGIC = 0xC5
MAX_PACKET_SIZE = 65536  # anything longer is rejected unread
MODEL_TAG_SIZE = 2


class PacketType(IntEnum):
    START = 1
    AUDIO = 2
    END = 3


_COMMON = struct.Struct("<BBI2sI")  # magic, version|type, stream id, model tag, seq
_START = struct.Struct("<8sIHB")  # model id, sample rate, frame size, codebook bits
_AUDIO = struct.Struct("<IB")  # timestamp, num codebooks (payload follows)
_END = struct.Struct("<Q")  # total samples
COMMON_SIZE = _COMMON.size  # 12
START_SIZE = COMMON_SIZE + _START.size  # 27
AUDIO_HEADER_SIZE = COMMON_SIZE + _AUDIO.size  # 17, plus the payload
END_SIZE = COMMON_SIZE + _END.size  # 20


def model_tag_of(model_id: bytes) -> bytes:
    """The 2-byte model tag carried by every packet: the first 2 bytes of the model id."""
    return bytes(model_id[:MODEL_TAG_SIZE])


@dataclass(frozen=True)
class StartPacket:
    """Announces a stream: which model, sample rate, frame size and code width."""

    stream_id: int
    model_id: bytes
    seq: int
    sample_rate: int  # the model's (implied by its id; repeated as a check)
    frame_size: int   # the model's hop, samples
    codebook_bits: int = DEFAULT_BITS

    @property
    def model_tag(self) -> bytes:
        return model_tag_of(self.model_id)


@dataclass(frozen=True)
class AudioPacket:
    """One frame: ``num_codebooks`` codes bit-packed in ``payload``.

    ``timestamp`` is the sender's clock in samples at the model's rate, modulo 2**32 (the
    sender sends ``seq * hop``); receivers order and detect loss by ``seq`` and may use
    ``timestamp`` for jitter estimation only.
    """

    stream_id: int
    model_tag: bytes
    seq: int
    timestamp: int
    num_codebooks: int
    payload: bytes

    @classmethod
    def from_codes(cls, stream_id: int, model_tag: bytes, seq: int, codes: np.ndarray,
                   bits: int = DEFAULT_BITS, timestamp: int = 0) -> "AudioPacket":
        """Build a packet from one frame's codes (``timestamp`` mod 2**32 is taken)."""
        codes = np.asarray(codes)
        return cls(stream_id, model_tag, seq, timestamp % (1 << 32), len(codes),
                   frame_payload(codes, bits))

    def codes(self, bits: int = DEFAULT_BITS) -> np.ndarray:
        """The frame's codes, ``int64`` of shape ``[num_codebooks]``."""
        return payload_codes(self.payload, self.num_codebooks, bits)


@dataclass(frozen=True)
class EndPacket:
    """Ends a stream. ``seq`` is the number of audio frames sent (last audio seq + 1)."""

    stream_id: int
    model_tag: bytes
    seq: int
    total_samples: int

    @property
    def last_seq(self) -> int | None:
        """Sequence number of the last audio frame, or None for a stream without audio."""
        return self.seq - 1 if self.seq > 0 else None


Packet = StartPacket | AudioPacket | EndPacket


def _common(ptype: PacketType, stream_id: int, model_tag: bytes, seq: int) -> bytes:
    if len(model_tag) != MODEL_TAG_SIZE:
        raise ValueError(f"model tag must be {MODEL_TAG_SIZE} bytes, got {model_tag!r}")
    return _COMMON.pack(PACKET_MAGIC, PACKET_VERSION << 4 | ptype, stream_id, bytes(model_tag), seq)


def encode_packet(pkt: Packet, codebook_bits: int = DEFAULT_BITS) -> bytes:
    """Serialise a packet. ``codebook_bits`` checks an audio payload's length.

    Raises ``ValueError`` (``struct.error`` for out-of-range integers) on invalid fields.
    """
    if isinstance(pkt, StartPacket):
        if len(pkt.model_id) != MODEL_ID_SIZE:
            raise ValueError(f"model id must be {MODEL_ID_SIZE} bytes, got {pkt.model_id!r}")
        return _common(PacketType.START, pkt.stream_id, pkt.model_tag, pkt.seq) + _START.pack(
            bytes(pkt.model_id), pkt.sample_rate, pkt.frame_size, pkt.codebook_bits)
    if isinstance(pkt, AudioPacket):
        if not 1 <= pkt.num_codebooks <= MAX_CODEBOOKS:
            raise ValueError(f"num_codebooks must be 1..{MAX_CODEBOOKS}, got {pkt.num_codebooks}")
        if len(pkt.payload) != packed_size(pkt.num_codebooks, codebook_bits):
            raise ValueError(f"payload of {len(pkt.payload)} bytes does not hold "
                             f"{pkt.num_codebooks} codes of {codebook_bits} bits")
        return (_common(PacketType.AUDIO, pkt.stream_id, pkt.model_tag, pkt.seq)
                + _AUDIO.pack(pkt.timestamp, pkt.num_codebooks) + bytes(pkt.payload))
    if isinstance(pkt, EndPacket):
        return _common(PacketType.END, pkt.stream_id, pkt.model_tag, pkt.seq) + _END.pack(pkt.total_samples)
    raise TypeError(f"not a packet: {type(pkt).__name__}")


def decode_packet(data: bytes, codebook_bits: int = DEFAULT_BITS) -> Packet:
    """Parse and validate one packet; raises only ``FormatError`` for malformed data.

    ``codebook_bits`` is the code width of the stream (from its START packet); an audio
    packet's payload must be exactly ``ceil(K * codebook_bits / 8)`` bytes.
    """
    if not MIN_BITS <= codebook_bits <= MAX_BITS:
        raise ValueError(f"codebook_bits must be {MIN_BITS}..{MAX_BITS}, got {codebook_bits}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    n = len(data)
    if n > MAX_PACKET_SIZE:
        raise FormatError(f"packet of {n} bytes is longer than {MAX_PACKET_SIZE}")
    data = bytes(data)
    if n < COMMON_SIZE:
        raise FormatError(f"packet of {n} bytes is shorter than the {COMMON_SIZE}-byte header")
    magic, vt, stream_id, tag, seq = _COMMON.unpack_from(data)
    if magic != PACKET_MAGIC:
        raise FormatError(f"not a codec packet (bad magic 0x{magic:02x})")
    version, ptype = vt >> 4, vt & 0x0F
    if version != PACKET_VERSION:
        raise FormatError(f"unsupported packet format version {version} "
                          f"(this codec reads version {PACKET_VERSION})")

    if ptype == PacketType.START:
        if n != START_SIZE:
            raise FormatError(f"START packet is {n} bytes, expected {START_SIZE}")
        model_id, rate, frame_size, bits = _START.unpack_from(data, COMMON_SIZE)
        if model_tag_of(model_id) != tag:
            raise FormatError("START packet's model tag does not match its model id")
        if not 0 < rate <= MAX_SAMPLE_RATE:
            raise FormatError(f"invalid sample rate {rate} in START packet")
        if frame_size == 0:
            raise FormatError("invalid frame size 0 in START packet")
        if not MIN_BITS <= bits <= MAX_BITS:
            raise FormatError(f"invalid codebook bits {bits} in START packet")
        return StartPacket(stream_id, model_id, seq, rate, frame_size, bits)

    if ptype == PacketType.AUDIO:
        if n < AUDIO_HEADER_SIZE:
            raise FormatError(f"AUDIO packet of {n} bytes is shorter than "
                              f"its {AUDIO_HEADER_SIZE}-byte header")
        timestamp, k = _AUDIO.unpack_from(data, COMMON_SIZE)
        if not 1 <= k <= MAX_CODEBOOKS:
            raise FormatError(f"invalid number of codebooks {k} in AUDIO packet")
        payload = data[AUDIO_HEADER_SIZE:]
        if len(payload) != packed_size(k, codebook_bits):
            raise FormatError(f"AUDIO payload is {len(payload)} bytes, expected "
                              f"{packed_size(k, codebook_bits)} for {k} codes of {codebook_bits} bits")
        pad_bits = 8 * len(payload) - k * codebook_bits
        if pad_bits and payload[-1] & ((1 << pad_bits) - 1):
            raise FormatError("nonzero padding bits after the last code in AUDIO packet")
        return AudioPacket(stream_id, tag, seq, timestamp, k, payload)

    if ptype == PacketType.END:
        if n != END_SIZE:
            raise FormatError(f"END packet is {n} bytes, expected {END_SIZE}")
        (total,) = _END.unpack_from(data, COMMON_SIZE)
        return EndPacket(stream_id, tag, seq, total)

    raise FormatError(f"unknown packet type {ptype}")
