"""The UDP packet format: layouts, round trips, payload-length => K rule and rejections."""

import struct

import numpy as np
import pytest

from codec.errors import FormatError
from codec.formats.packet import (
    AUDIO_HEADER_SIZE, COMMON_SIZE, END_SIZE, MAX_PACKET_SIZE, START_SIZE, AudioPacket,
    EndPacket, StartPacket, decode_packet, encode_packet, model_tag_of,
)
from codec.formats.payload import codebooks_from_payload_length, frame_payload, payload_codes
from codec.version import PACKET_VERSION

MODEL = b"model-01"
TAG = model_tag_of(MODEL)


def test_sizes_and_layout():
    assert (COMMON_SIZE, START_SIZE, AUDIO_HEADER_SIZE, END_SIZE) == (12, 27, 17, 20)
    start = encode_packet(StartPacket(0x01020304, MODEL, 0, 16000, 320))
    assert start == (bytes([0xC5, PACKET_VERSION << 4 | 1]) + bytes([4, 3, 2, 1]) + b"mo"
                     + bytes(4) + MODEL + struct.pack("<IHB", 16000, 320, 10))
    audio = encode_packet(AudioPacket.from_codes(7, TAG, 5, np.arange(12), timestamp=5 * 320))  # 6 kbps
    assert len(audio) == 17 + 15
    assert audio[:2] == bytes([0xC5, PACKET_VERSION << 4 | 2])
    assert audio[8:17] == struct.pack("<IIB", 5, 5 * 320, 12)
    end = encode_packet(EndPacket(7, TAG, 50, 15_999))
    assert len(end) == 20 and end[1] == PACKET_VERSION << 4 | 3


def test_round_trips():
    rng = np.random.default_rng(0)
    pkts = [StartPacket(1, MODEL, 0, 16000, 320), StartPacket(2**32 - 1, rng.bytes(8), 9, 48000, 960, 16),
            EndPacket(1, TAG, 0, 0), EndPacket(3, TAG, 2**32 - 1, 2**64 - 1)]
    assert pkts[2].last_seq is None and pkts[3].last_seq == 2**32 - 2
    for bits in (8, 10, 13, 16):
        for k in (1, 3, 6, 12, 18, 32, 64):
            codes = rng.integers(0, 1 << bits, size=k)
            p = AudioPacket.from_codes(int(rng.integers(2**32)), TAG, int(rng.integers(2**32)),
                                       codes, bits)
            back = decode_packet(encode_packet(p, bits), bits)
            assert back == p
            np.testing.assert_array_equal(back.codes(bits), codes)
    for p in pkts:
        assert decode_packet(encode_packet(p)) == p


def test_payload_length_determines_k():
    lengths = [len(frame_payload(np.zeros(k, dtype=int), 10)) for k in range(1, 33)]
    assert lengths[:6] == [2, 3, 4, 5, 7, 8] and len(set(lengths)) == 32
    for k, n in enumerate(lengths, start=1):
        assert n == (10 * k + 7) // 8
        assert codebooks_from_payload_length(n, 10) == k
    for n in set(range(0, 41)) - set(lengths):  # 0, 1, 6, 11, 16, 21, 26, 31, 36
        with pytest.raises(FormatError):
            codebooks_from_payload_length(n, 10)
    for bits in range(8, 17):
        for k in range(1, 65):
            assert codebooks_from_payload_length((bits * k + 7) // 8, bits) == k
    with pytest.raises(ValueError):
        codebooks_from_payload_length(2, 4)  # ambiguous below 8 bits


def test_frame_payload_round_trip():
    codes = np.array([1023, 0, 512, 7, 99, 1000])
    payload = frame_payload(codes)
    assert len(payload) == 8
    np.testing.assert_array_equal(payload_codes(payload), codes)
    np.testing.assert_array_equal(payload_codes(payload, 6, 10), codes)
    with pytest.raises(FormatError):
        payload_codes(payload, 5, 10)
    with pytest.raises(ValueError):
        frame_payload(codes.reshape(2, 3))


def test_bitrate_change_mid_stream():
    for k in (3, 6, 12, 18):
        p = decode_packet(encode_packet(AudioPacket.from_codes(1, TAG, k, np.ones(k, dtype=int))))
        assert p.num_codebooks == k and len(p.payload) == (10 * k + 7) // 8


def test_rejections():
    start = encode_packet(StartPacket(1, MODEL, 0, 16000, 320))
    audio = encode_packet(AudioPacket.from_codes(1, TAG, 0, np.arange(3)))  # 4 bytes, 2 pad bits
    end = encode_packet(EndPacket(1, TAG, 1, 320))

    def bad(data, match):
        with pytest.raises(FormatError, match=match):
            decode_packet(bytes(data))

    bad(b"", "shorter")
    bad(start[:11], "shorter")
    bad(b"\xc4" + start[1:], "bad magic")
    bad(start[:1] + bytes([(PACKET_VERSION + 1) << 4 | 1]) + start[2:],
        f"version {PACKET_VERSION + 1}")
    bad(start[:1] + bytes([PACKET_VERSION << 4 | 9]) + start[2:], "unknown packet type 9")
    bad(start + b"\0", "START packet is 28")
    bad(start[:6] + b"xx" + start[8:], "model tag")
    bad(start[:20] + bytes(4) + start[24:], "sample rate 0")
    bad(start[:24] + bytes(2) + start[26:], "frame size 0")
    bad(start[:26] + bytes([17]), "codebook bits 17")
    bad(audio[:16], "shorter")
    bad(audio[:-1], "payload is 3 bytes, expected 4")
    bad(audio + b"\0", "payload is 5 bytes")
    bad(audio[:16] + bytes([0]) + audio[17:], "codebooks 0")
    bad(audio[:16] + bytes([65]) + audio[17:], "codebooks 65")
    bad(audio[:-1] + bytes([audio[-1] | 1]), "padding")
    bad(end[:-1], "END packet is 19")
    bad(b"\xc5" + bytes([PACKET_VERSION << 4 | 2]) + bytes(MAX_PACKET_SIZE), "longer")
    with pytest.raises(FormatError):  # wrong code width for the stream: 3 codes of 16 bits = 6 bytes
        decode_packet(audio, codebook_bits=16)


def test_encode_rejects_caller_bugs():
    with pytest.raises(ValueError):
        encode_packet(AudioPacket(1, TAG, 0, 0, 3, b"\0\0\0"))
    with pytest.raises(ValueError):
        encode_packet(StartPacket(1, b"short", 0, 16000, 320))
    with pytest.raises(ValueError):
        encode_packet(EndPacket(1, b"abc", 0, 0))
    with pytest.raises(TypeError):
        encode_packet("START")
