"""Seeded fuzzing: mutated and random inputs make the readers raise FormatError or succeed,
never anything else, each in bounded time."""

import struct
import time
import zlib

import numpy as np

from codec.errors import FormatError
from codec.formats.bitstream import (Header, check_integrity, frames_for, read_bitstream,
                                     read_header, read_model_id, write_bitstream)
from codec.formats.packet import (
    AudioPacket, EndPacket, StartPacket, decode_packet, encode_packet, model_tag_of,
)

N_INPUTS = 10_000
PER_INPUT_S = 0.05
TOTAL_S = 10.0
GEO = (16000, 320)  # frame geometry: rate, hop


def _files():
    rng = np.random.default_rng(0)
    out = []
    for n, rate, k, bits in [(0, 16000, 3, 10), (700, 16000, 3, 10), (3000, 44100, 6, 10),
                             (1000, 8000, 18, 16), (500, 48000, 1, 1)]:
        h = Header(rng.bytes(8), rate, n, k, bits, frames_for(n, rate, *GEO), *GEO)
        out.append(write_bitstream(h, rng.integers(0, 1 << bits, size=(k, h.num_frames))))
    return out


def _packets():
    rng = np.random.default_rng(1)
    model = b"model-01"
    tag = model_tag_of(model)
    pkts = [StartPacket(5, model, 0, *GEO), EndPacket(5, tag, 100, 31_999)]
    pkts += [AudioPacket.from_codes(5, tag, s, rng.integers(0, 1024, size=k)) for s, k in
             enumerate((3, 6, 12, 18))]
    return [encode_packet(p) for p in pkts]


def _mutate(rng, data, corpus):
    """One random mutation: bit flips, byte changes, truncation, insertion, splice or noise."""
    b = bytearray(data)
    kind = int(rng.integers(7))
    if kind == 0 and b:  # 1-4 bit flips
        for _ in range(int(rng.integers(1, 5))):
            i = int(rng.integers(len(b) * 8))
            b[i // 8] ^= 0x80 >> (i % 8)
    elif kind == 1 and b:  # byte changes, biased to extreme values
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.integers(256)]))
    elif kind == 2:  # truncation
        b = b[: int(rng.integers(len(b) + 1))]
    elif kind == 3:  # insertion
        i = int(rng.integers(len(b) + 1))
        b[i:i] = rng.bytes(int(rng.integers(1, 9)))
    elif kind == 4:  # splice of two inputs
        other = corpus[int(rng.integers(len(corpus)))]
        b = b[: int(rng.integers(len(b) + 1))] + other[int(rng.integers(len(other) + 1)):]
    elif kind == 5:  # random bytes, sometimes behind a valid prefix
        b = b[: int(rng.choice([0, 2, 6, 12]))] + rng.bytes(int(rng.integers(0, 80)))
    else:  # overwrite a header-sized window with random bytes
        i = int(rng.integers(min(len(b), 32) + 1))
        b[i:i + 4] = rng.bytes(4)
    return bytes(b)


def _run(fn, inputs):
    """Apply ``fn`` to each input; return (successes, max per-input seconds)."""
    ok, worst = 0, 0.0
    t_total = time.process_time()
    for data in inputs:
        t0 = time.process_time()
        try:
            fn(data)
            ok += 1
        except FormatError:
            pass
        worst = max(worst, time.process_time() - t0)
    assert time.process_time() - t_total < TOTAL_S
    assert worst < PER_INPUT_S
    return ok


def _fix_crc(data):
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4])) if len(data) >= 4 else data


def test_fuzz_bitstream():
    rng = np.random.default_rng(42)
    corpus = _files()
    inputs = []
    for i in range(N_INPUTS):
        data = _mutate(rng, corpus[i % len(corpus)], corpus)
        if i % 3 == 0:
            data = _fix_crc(data)  # reach the checks behind the CRC
        inputs.append(data)
    inputs += [rng.bytes(int(rng.integers(0, 200))) for _ in range(1000)]
    _run(lambda d: read_bitstream(d, *GEO), inputs)
    _run(lambda d: read_header(d, *GEO), inputs)
    _run(read_model_id, inputs)
    _run(check_integrity, inputs)
    _run(lambda d: read_bitstream(d, 16000, 160), inputs[:2000])  # another model's geometry
    _run(lambda d: read_bitstream(d, *GEO, expected_model_id=b"12345678"), inputs[:2000])


def test_fuzz_packets():
    rng = np.random.default_rng(7)
    corpus = _packets()
    inputs = [_mutate(rng, corpus[i % len(corpus)], corpus) for i in range(N_INPUTS)]
    inputs += [rng.bytes(int(rng.integers(0, 64))) for _ in range(1000)]
    inputs += [rng.bytes(70_000), bytes(65_537)]
    ok = _run(decode_packet, inputs)
    assert ok > 100  # the mutations also produce valid packets, not only rejections
    _run(lambda d: decode_packet(d, codebook_bits=16), inputs[:2000])
