"""The ``.cdc`` file format: a small header, the bit-packed codes and a CRC32.

Layout (little-endian; see ``docs/FORMAT.md`` for the byte-by-byte table)::

    magic b"CODC" (4) | file version u8 | header length u8 (= 26) | model id (8 bytes)
    | input sample rate u32 | original length in samples u64 | num codebooks u8
    | bits per code u8 | num frames u32 | payload (bit-packed codes) | CRC32 u32

The model id implies the frame geometry (the model's sample rate and hop), so the functions that
need it take ``codec_rate`` and ``hop`` from the caller, who looks the model up by
:func:`read_model_id`. The CRC is ``zlib.crc32`` of every byte before it. :func:`read_bitstream`
verifies everything and raises :class:`~codec.errors.FormatError` (one line, says what is wrong)
for any defect. It never allocates more than the input's own size: lengths claimed by the header
are checked against the actual byte count before any payload is decoded.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from ..version import FILE_VERSION
from .bitpack import MAX_BITS, MIN_BITS, pack_codes, packed_size, unpack_codes
from .payload import MAX_CODEBOOKS

MAGIC = b"CODC"
MODEL_ID_SIZE = 8  # bytes of a model id (store.model_id_for), in files and START packets
MAX_SAMPLE_RATE = 1_000_000  # the largest input rate a header (file or START packet) may name

_PREFIX = struct.Struct("<4sBB")  # magic, version, header length
_FIELDS = struct.Struct("<8sIQBBI")  # model id, sample rate, samples, codebooks, bits, frames
HEADER_LENGTH = _FIELDS.size  # the value of the header-length byte: 26
HEADER_SIZE = _PREFIX.size + _FIELDS.size  # bytes before the payload: 32
TRAILER_SIZE = 4  # CRC32


def output_samples_for(num_samples: int, sample_rate: int, codec_rate: int) -> int:
    """Samples that ``num_samples`` at ``sample_rate`` become at ``codec_rate``, rounded half up.

    Exact integer arithmetic (no float rounding), so every reader agrees on the length.
    """
    return (2 * num_samples * codec_rate + sample_rate) // (2 * sample_rate)


def frames_for(num_samples: int, sample_rate: int, codec_rate: int, hop: int) -> int:
    """Number of frames coding ``num_samples`` input samples: ``ceil(output / hop)``.

    ``output = output_samples_for(num_samples, sample_rate, codec_rate)``; 0 samples give 0
    frames. The writer and the reader both use this rule.
    """
    return -(-output_samples_for(num_samples, sample_rate, codec_rate) // hop)


@dataclass(frozen=True)
class Header:
    """The fields of a ``.cdc`` header (everything except magic, version and lengths), and
    the frame geometry its model id implies (``codec_rate``, ``hop``: not written)."""

    model_id: bytes
    sample_rate: int
    num_samples: int
    num_codebooks: int
    codebook_bits: int
    num_frames: int
    codec_rate: int  # the model's sample rate
    hop: int         # the model's samples per frame

    @property
    def duration_s(self) -> float:
        """Duration of the original audio in seconds."""
        return self.num_samples / self.sample_rate

    @property
    def output_samples(self) -> int:
        """Length in samples of the decoded audio at the model's rate."""
        return output_samples_for(self.num_samples, self.sample_rate, self.codec_rate)

    @property
    def payload_size(self) -> int:
        """Bytes of bit-packed codes."""
        return packed_size(self.num_codebooks * self.num_frames, self.codebook_bits)

    @property
    def file_size(self) -> int:
        """Total size of the file in bytes: header + payload + CRC."""
        return HEADER_SIZE + self.payload_size + TRAILER_SIZE

    @property
    def nominal_kbps(self) -> float:
        """Bitrate of the codes alone: ``K * bits * frame rate / 1000``."""
        return self.num_codebooks * self.codebook_bits * self.codec_rate / self.hop / 1000


def true_bitrate_kbps(header: Header, file_size: int) -> float:
    """Bitrate of a whole file (header and CRC included) in kbit/s; 0.0 for empty audio."""
    if header.num_samples == 0:
        return 0.0
    return file_size * 8 / header.duration_s / 1000


def _check_header(h: Header) -> None:
    """Raise FormatError unless the header's fields are valid and consistent."""
    if not isinstance(h.model_id, bytes) or len(h.model_id) != MODEL_ID_SIZE:
        raise FormatError(f"model id must be {MODEL_ID_SIZE} bytes, got {h.model_id!r}")
    if not 0 < h.sample_rate <= MAX_SAMPLE_RATE:
        raise FormatError(f"invalid sample rate {h.sample_rate} (must be 1..{MAX_SAMPLE_RATE})")
    if not 0 < h.num_codebooks <= MAX_CODEBOOKS:
        raise FormatError(f"invalid number of codebooks {h.num_codebooks} (must be 1..{MAX_CODEBOOKS})")
    if not MIN_BITS <= h.codebook_bits <= MAX_BITS:
        raise FormatError(f"invalid bits per code {h.codebook_bits} (must be {MIN_BITS}..{MAX_BITS})")
    if not 0 <= h.num_samples < 1 << 64:
        raise FormatError(f"invalid number of samples {h.num_samples}")
    if not (h.codec_rate > 0 and h.hop > 0):
        raise ValueError(f"invalid frame geometry: {h.codec_rate} Hz, hop {h.hop}")
    expected = frames_for(h.num_samples, h.sample_rate, h.codec_rate, h.hop)
    if h.num_frames != expected:
        raise FormatError(
            f"frame count {h.num_frames} inconsistent with {h.num_samples} samples at "
            f"{h.sample_rate} Hz (expected {expected} frames)"
        )
    if expected >= 1 << 32:
        raise FormatError(f"too many frames ({expected}) for the u32 frame count")


def write_bitstream(header: Header, codes: np.ndarray) -> bytes:
    """Serialise ``header`` and ``codes`` (shape ``[num_codebooks, num_frames]``) to bytes.

    Raises ``FormatError`` for an invalid header and ``ValueError`` for codes that do not
    match it (wrong shape or out-of-range values).
    """
    _check_header(header)
    codes = np.asarray(codes)
    if codes.shape != (header.num_codebooks, header.num_frames):
        raise ValueError(
            f"codes shape {codes.shape} does not match header "
            f"({header.num_codebooks}, {header.num_frames})"
        )
    body = _header_bytes(header) + pack_codes(codes, header.codebook_bits)
    return body + struct.pack("<I", zlib.crc32(body))


def _header_bytes(header: Header) -> bytes:
    return (_PREFIX.pack(MAGIC, FILE_VERSION, HEADER_LENGTH)
            + _FIELDS.pack(header.model_id, header.sample_rate, header.num_samples,
                           header.num_codebooks, header.codebook_bits, header.num_frames))


def write_bitstream_to(f, code_blocks, header_for) -> Header:
    """Write a file into ``f`` (a seekable binary file) from blocks of codes ``[K, n]`` as they
    come, packed 8 frames at a time (whole bytes), for inputs of unknown length; the header,
    ``header_for(frames)`` once all are written, goes in front, then the CRC at the end."""
    start = f.tell()
    f.write(bytes(HEADER_SIZE))
    frames, held, bits = 0, None, None
    for codes in code_blocks:
        held = codes if held is None else np.concatenate([held, codes], axis=1)
        whole = held.shape[1] - held.shape[1] % 8
        header = header_for(frames + whole)
        f.write(pack_codes(held[:, :whole], header.codebook_bits))
        frames, held = frames + whole, held[:, whole:]
    header = header_for(frames + (0 if held is None else held.shape[1]))
    _check_header(header)
    if held is not None:
        if held.shape[0] != header.num_codebooks:
            raise ValueError(f"codes of {held.shape[0]} codebooks for a header of "
                             f"{header.num_codebooks}")
        f.write(pack_codes(held, header.codebook_bits))
    f.seek(start)
    f.write(_header_bytes(header))
    f.seek(start)
    crc = 0
    while data := f.read(CHUNK):
        crc = zlib.crc32(data, crc)
    f.write(struct.pack("<I", crc))
    if f.tell() - start != header.file_size:
        raise ValueError(f"wrote {f.tell() - start} bytes for a header of {header.file_size}")
    return header


def _as_bytes(data) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def read_model_id(data: bytes) -> bytes:
    """The model id of a ``.cdc`` file, after the magic, version and header-length checks.

    It names the model to decode with, which gives ``codec_rate`` and ``hop`` for
    :func:`read_header` and :func:`read_bitstream`.
    """
    data = _as_bytes(data)
    _check_prefix(data)
    return data[_PREFIX.size: _PREFIX.size + MODEL_ID_SIZE]


def _check_prefix(data: bytes) -> None:
    if len(data) < 4 or data[:4] != MAGIC:
        if MAGIC.startswith(data):
            raise FormatError(f"truncated bitstream ({len(data)} bytes, header needs {HEADER_SIZE})")
        kind = audio_kind(data)
        if kind:
            raise FormatError(f"not a codec bitstream (bad magic): it is {kind} audio, "
                              "which codec encode compresses")
        raise FormatError("not a codec bitstream (bad magic)")
    if len(data) < _PREFIX.size:
        raise FormatError(f"truncated bitstream ({len(data)} bytes, header needs {HEADER_SIZE})")
    _, version, header_length = _PREFIX.unpack_from(data)
    if version != FILE_VERSION:
        raise FormatError(
            f"unsupported bitstream format version {version} (this codec reads version {FILE_VERSION})"
        )
    if header_length != HEADER_LENGTH:
        raise FormatError(f"header length {header_length} does not match version {version} ({HEADER_LENGTH})")
    if len(data) < HEADER_SIZE:
        raise FormatError(f"truncated bitstream ({len(data)} bytes, header needs {HEADER_SIZE})")


# Leading bytes of the audio files people hand to ``decode`` by mistake
_AUDIO_MAGICS = ((b"RIFF", "WAV"), (b"RIFX", "WAV"), (b"RF64", "WAV"), (b"fLaC", "FLAC"),
                 (b"OggS", "Ogg"), (b"FORM", "AIFF"), (b"ID3", "MP3"), (b".snd", "AU"),
                 (b"caff", "CAF"), (b"riff", "Wave64"))


def audio_kind(data: bytes) -> str | None:
    """The kind of audio file ``data`` starts like (``"WAV"``, ``"FLAC"``...), or None."""
    for magic, kind in _AUDIO_MAGICS:
        if data.startswith(magic):
            return kind
    return None


def read_header(data: bytes, codec_rate: int, hop: int) -> Header:
    """Parse and validate the header at the start of ``data`` (for ``codec info``).

    ``codec_rate`` and ``hop``: the geometry of the model the header names. Checks magic,
    version, header length and every field, but neither the payload nor the CRC: ``data`` may be
    just the first :data:`HEADER_SIZE` bytes of a file. Use :func:`read_bitstream` to verify a
    whole file.
    """
    data = _as_bytes(data)
    _check_prefix(data)
    header = Header(*_FIELDS.unpack_from(data, _PREFIX.size), codec_rate, hop)
    _check_header(header)
    return header


def read_bitstream(data: bytes, codec_rate: int, hop: int, expected_model_id: bytes | None = None
                   ) -> tuple[Header, np.ndarray]:
    """Verify a whole ``.cdc`` file and return ``(header, codes)``.

    ``codes`` is an ``int64`` array of shape ``[num_codebooks, num_frames]``. Checks, in
    order: header (see :func:`read_header`), exact total size (truncation / trailing bytes),
    CRC, then the model id when ``expected_model_id`` is given. Raises only ``FormatError``.
    """
    data = _as_bytes(data)
    header = read_header(data, codec_rate, hop)
    expected = header.file_size  # computed from validated fields; nothing allocated
    _check_size_and_crc(data, expected)
    if expected_model_id is not None and header.model_id != expected_model_id:
        raise FormatError(
            f"encoded by another model (id {header.model_id.hex()}, "
            f"this model is {bytes(expected_model_id).hex()})"
        )
    payload = data[HEADER_SIZE : expected - TRAILER_SIZE]
    codes = unpack_codes(payload, header.num_codebooks, header.num_frames, header.codebook_bits)
    return header, codes


def _check_size_and_crc(data: bytes, expected: int) -> None:
    check_size(len(data), expected)
    (stored_crc,) = struct.unpack_from("<I", data, expected - TRAILER_SIZE)
    if zlib.crc32(data[: expected - TRAILER_SIZE]) != stored_crc:
        raise FormatError("CRC mismatch: the bitstream is corrupted")


def check_integrity(data: bytes) -> None:
    """The checks that need no model: prefix, code counts, exact size and CRC (``FormatError``).

    For telling a damaged file from one whose model id names a model the codec does not hold.
    """
    data = _as_bytes(data)
    _check_size_and_crc(data, integrity_size(data))


def integrity_size(head: bytes) -> int:
    """The file size that a header's code counts give, without the model (``FormatError``)."""
    _check_prefix(head)
    *_, k, bits, frames = _FIELDS.unpack_from(head, _PREFIX.size)
    if not (0 < k <= MAX_CODEBOOKS and MIN_BITS <= bits <= MAX_BITS):
        raise FormatError(f"invalid codes in the header ({k} codebooks of {bits} bits)")
    return HEADER_SIZE + packed_size(k * frames, bits) + TRAILER_SIZE


# -- files read as streams: the header first, then the rest in blocks ---------------------------
CHUNK = 1 << 20  # bytes read at a time
TRAILING_SHOWN = 1 << 20  # trailing bytes counted on a stream before saying "more than"


def read_head(head: bytes) -> bytes:
    """The first :data:`HEADER_SIZE` bytes of a file (fewer at its end), prefix-checked: a file
    that is not a bitstream is refused from its first bytes, whatever its length."""
    _check_prefix(head)
    return head


def read_up_to(f, n: int) -> bytes:
    """``n`` bytes from ``f``, fewer only at its end (pipes return short reads)."""
    parts, left = [], n
    while left > 0:
        data = f.read(min(left, CHUNK))
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def check_size(size: int, expected: int) -> None:
    """A file of ``size`` bytes where the header says ``expected`` (``FormatError``)."""
    if size < expected:
        raise FormatError(f"truncated bitstream ({size} bytes, header says {expected})")
    if size > expected:
        raise FormatError(f"{size - expected} trailing bytes after the bitstream ({expected} bytes)")


def verify_rest(f, head: bytes, expected: int, sink=None) -> None:
    """Read the rest of a file after ``head`` in blocks: exactly ``expected`` bytes in all and
    a matching CRC (``FormatError``), holding one block at a time; ``sink`` (a file object)
    gets the bytes read. A stream longer than ``expected`` is refused once past it."""
    crc, done = zlib.crc32(head), len(head)
    body = expected - TRAILER_SIZE
    while done < body:
        data = f.read(min(CHUNK, body - done))
        if not data:
            check_size(done, expected)
        crc, done = zlib.crc32(data, crc), done + len(data)
        if sink:
            sink.write(data)
    stored = read_up_to(f, TRAILER_SIZE)
    if sink:
        sink.write(stored)
    check_size(done + len(stored), expected)
    _check_trailing(f, expected)
    if struct.unpack("<I", stored)[0] != crc:
        raise FormatError("CRC mismatch: the bitstream is corrupted")


def _check_trailing(f, expected: int) -> None:
    extra = len(read_up_to(f, TRAILING_SHOWN + 1))
    if extra > TRAILING_SHOWN:
        raise FormatError(f"more than {TRAILING_SHOWN} trailing bytes after the bitstream "
                          f"({expected} bytes)")
    if extra:
        check_size(expected + extra, expected)


def read_codes(f, header: Header, start: int, count: int, offset: int = 0) -> np.ndarray:
    """Frames ``start`` to ``start + count`` of a verified file's codes, read from ``f`` (a
    seekable file holding the file from ``offset``): ``[num_codebooks, count]`` int64."""
    k, bits = header.num_codebooks, header.codebook_bits
    first = start - start % 8  # frames that begin on a byte: 8 frames take whole bytes
    stop = min(header.num_frames, -(-(start + count) // 8) * 8)
    f.seek(offset + HEADER_SIZE + first * k * bits // 8)
    data = read_up_to(f, packed_size((stop - first) * k, bits))
    return unpack_codes(data, k, stop - first, bits)[:, start - first: start - first + count]
