"""Bit-packing and the .cdc file format: round trips and every rejection class."""

import struct
import time
import zlib

import numpy as np
import pytest

from codec.errors import FormatError
from codec.formats.bitpack import pack_codes, pack_frame, packed_size, unpack_codes, unpack_frame
from codec.formats.bitstream import (
    HEADER_SIZE, TRAILER_SIZE, Header, check_integrity, frames_for, output_samples_for,
    read_bitstream, read_header, read_model_id, true_bitrate_kbps, write_bitstream,
)
from codec.version import FILE_VERSION

MODEL = b"model-01"
GEO = (16000, 320)  # the frame geometry the tests' model ids imply: rate, hop


def make(num_samples=3200, sample_rate=16000, k=3, bits=10, seed=0, model_id=MODEL):
    """A valid (header, codes, file bytes) triple."""
    h = Header(model_id, sample_rate, num_samples, k, bits,
               frames_for(num_samples, sample_rate, *GEO), *GEO)
    codes = np.random.default_rng(seed).integers(0, 1 << bits, size=(k, h.num_frames))
    return h, codes, write_bitstream(h, codes)


def forge(fields, payload=b"", version=FILE_VERSION, header_length=26, fix_crc=True):
    """Raw file bytes from header fields (model, rate, samples, K, bits, frames), CRC fixed."""
    body = struct.pack("<4sBB8sIQBBI", b"CODC", version, header_length, *fields) + payload
    return body + struct.pack("<I", zlib.crc32(body) if fix_crc else 0)


# --- bit packing -------------------------------------------------------------------------

def test_pack_worked_example():
    assert pack_codes(np.array([[1], [2]]), 10) == bytes([0x00, 0x40, 0x20])
    # frame-major: frame 0's codes, then frame 1's
    assert pack_codes(np.array([[1, 3], [2, 4]]), 8) == bytes([1, 2, 3, 4])


@pytest.mark.parametrize("bits", range(1, 17))
def test_pack_round_trip_all_widths(bits):
    rng = np.random.default_rng(bits)
    for k, t in [(1, 0), (0, 5), (1, 1), (3, 1), (5, 7), (18, 13)]:
        codes = rng.integers(0, 1 << bits, size=(k, t))
        data = pack_codes(codes, bits)
        assert len(data) == packed_size(k * t, bits)
        out = unpack_codes(data, k, t, bits)
        assert out.dtype == np.int64 and out.shape == (k, t)
        np.testing.assert_array_equal(out, codes)
    full = np.full((2, 3), (1 << bits) - 1)  # extreme values
    np.testing.assert_array_equal(unpack_codes(pack_codes(full, bits), 2, 3, bits), full)


def test_pack_rejects_caller_bugs():
    with pytest.raises(ValueError):
        pack_codes(np.array([[1024]]), 10)
    with pytest.raises(ValueError):
        pack_codes(np.array([[-1]]), 10)
    with pytest.raises(ValueError):
        pack_codes(np.array([1, 2]), 10)  # 1-D
    with pytest.raises(ValueError):
        pack_codes(np.array([[1.0]]), 10)
    for bits in (0, 17):
        with pytest.raises(ValueError):
            pack_codes(np.array([[0]]), bits)


def test_unpack_rejects_wrong_size_and_padding():
    data = pack_codes(np.array([[5], [6], [7]]), 10)  # 30 bits in 4 bytes
    with pytest.raises(FormatError):
        unpack_codes(data + b"\0", 3, 1, 10)
    with pytest.raises(FormatError):
        unpack_codes(data[:-1], 3, 1, 10)
    with pytest.raises(FormatError):
        unpack_codes(data[:-1] + bytes([data[-1] | 1]), 3, 1, 10)


@pytest.mark.parametrize("bits", range(1, 17))
def test_one_frame_fast_path_equals_the_general_packer(bits):
    rng = np.random.default_rng(100 + bits)
    for k in (0, 1, 2, 7, 12, 18, 32):
        codes = rng.integers(0, 1 << bits, size=k)
        data = pack_frame(codes, bits)
        assert data == pack_codes(codes.reshape(-1, 1), bits)
        out = unpack_frame(data, k, bits)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, codes)
    full = np.full(5, (1 << bits) - 1)
    np.testing.assert_array_equal(unpack_frame(pack_frame(full, bits), 5, bits), full)


def test_one_frame_fast_path_rejects_what_the_general_one_rejects():
    for bad in (np.array([1024]), np.array([-1]), np.array([[1]]), np.array([1.0])):
        with pytest.raises(ValueError):
            pack_frame(bad, 10)
    with pytest.raises(ValueError):
        pack_frame(np.array([0]), 17)
    data = pack_frame(np.array([5, 6, 7]), 10)
    for bad in (data + b"\0", data[:-1], data[:-1] + bytes([data[-1] | 1])):
        with pytest.raises(FormatError):
            unpack_frame(bad, 3, 10)
        with pytest.raises(FormatError):
            unpack_codes(bad, 3, 1, 10)


def test_pack_one_hour_is_fast():
    codes = np.random.default_rng(0).integers(0, 1024, size=(18, 180_000))
    t0 = time.process_time()  # CPU time, which a loaded machine does not inflate
    out = unpack_codes(pack_codes(codes, 10), 18, 180_000, 10)
    assert time.process_time() - t0 < 3.0
    np.testing.assert_array_equal(out, codes)


# --- file format -------------------------------------------------------------------------

def test_sizes_and_bitrate():
    assert HEADER_SIZE == 32 and TRAILER_SIZE == 4
    h, _, data = make(num_samples=160_000, k=3)  # 10 s at 1.5 kbps
    assert h.num_frames == 500 and h.payload_size == 1875
    assert len(data) == h.file_size == 32 + 1875 + 4
    assert h.duration_s == 10.0 and h.nominal_kbps == 1.5
    assert true_bitrate_kbps(h, len(data)) == pytest.approx(1911 * 8 / 10 / 1000)


def test_frames_for():
    assert frames_for(0, 16000, *GEO) == 0 and frames_for(1, 16000, *GEO) == 1
    assert frames_for(320, 16000, *GEO) == 1 and frames_for(321, 16000, *GEO) == 2
    assert frames_for(44100, 44100, *GEO) == 50 and frames_for(882, 44100, *GEO) == 1
    assert output_samples_for(1, 32000, 16000) == 1  # half rounds up, exactly
    assert output_samples_for(3, 48000, 16000) == 1
    assert output_samples_for(10**18, 16000, 16000) == 10**18


@pytest.mark.parametrize("num_samples,rate,k,bits", [
    (0, 16000, 3, 10), (1, 16000, 1, 1), (320, 16000, 6, 10), (12345, 44100, 12, 10),
    (48000, 48000, 18, 16), (7, 8000, 64, 7), (999, 22050, 5, 3),
])
def test_round_trip(num_samples, rate, k, bits):
    h, codes, data = make(num_samples, rate, k, bits)
    h2, codes2 = read_bitstream(data, *GEO, expected_model_id=MODEL)
    assert h2 == h and read_header(data, *GEO) == h and read_header(data[:HEADER_SIZE], *GEO) == h
    np.testing.assert_array_equal(codes2, codes)


def test_random_round_trips():
    rng = np.random.default_rng(1)
    for i in range(200):
        rate = int(rng.choice([8000, 16000, 22050, 44100, 48000]))
        h, codes, data = make(int(rng.integers(0, 20000)), rate, int(rng.integers(1, 65)),
                              int(rng.integers(1, 17)), seed=i, model_id=rng.bytes(8))
        h2, codes2 = read_bitstream(data, *GEO)
        assert h2 == h
        np.testing.assert_array_equal(codes2, codes)


def test_write_checks_codes_and_header():
    h, codes, _ = make()
    with pytest.raises(ValueError):
        write_bitstream(h, codes[:, :-1])
    with pytest.raises(ValueError):
        write_bitstream(h, codes + 1024)
    with pytest.raises(FormatError):
        write_bitstream(Header(MODEL, 16000, 3200, 3, 10, 11, *GEO), codes)  # frames != 10
    with pytest.raises(FormatError):
        write_bitstream(Header(b"short", 16000, 3200, 3, 10, 10, *GEO), codes)


def expect_error(data, match, **kw):
    with pytest.raises(FormatError, match=match):
        read_bitstream(data, *GEO, **kw)


def test_rejections():
    _, _, data = make()
    expect_error(b"RIFF" + data[4:], "bad magic")
    expect_error(b"", "truncated")
    expect_error(data[:2], "truncated")
    expect_error(data[:4] + bytes([FILE_VERSION + 1]) + data[5:],
                 f"version {FILE_VERSION + 1}.*version {FILE_VERSION}")
    expect_error(data[:5] + bytes([27]) + data[6:], "header length")
    expect_error(data, r"another model \(id 6d6f64656c2d3031, this model is 6f746865722d6d64\)",
                 expected_model_id=b"other-md")
    expect_error(data[:-1], "truncated")
    expect_error(data + b"\0", "trailing")
    corrupt = bytearray(data)
    corrupt[HEADER_SIZE] ^= 0x10
    expect_error(bytes(corrupt), "CRC")
    expect_error(data[:-4] + b"\0\0\0\0", "CRC")
    pay = data[HEADER_SIZE:-4]
    expect_error(forge((MODEL, 16000, 3200, 3, 10, 11), pay), "frame count 11 inconsistent")
    expect_error(forge((MODEL, 0, 3200, 3, 10, 10), pay), "sample rate 0")
    expect_error(forge((MODEL, 2_000_000, 3200, 3, 10, 10), pay), "sample rate")
    expect_error(forge((MODEL, 16000, 3200, 0, 10, 10), pay), "codebooks 0")
    expect_error(forge((MODEL, 16000, 3200, 65, 10, 10), pay), "codebooks 65")
    expect_error(forge((MODEL, 16000, 3200, 3, 0, 10), pay), "bits per code 0")
    expect_error(forge((MODEL, 16000, 3200, 3, 17, 10), pay), "bits per code 17")
    expect_error(forge((MODEL, 16000, 0, 3, 10, 1), b""), "inconsistent")
    for bad in (b"RIFF" + data[4:], data[:4] + bytes([9]) + data[5:], data[:10]):
        with pytest.raises(FormatError):
            read_header(bad, *GEO)
        with pytest.raises(FormatError):
            read_model_id(bad)


def test_truncation_at_every_length():
    _, _, data = make(num_samples=700, k=3)
    for n in range(len(data)):
        with pytest.raises(FormatError):
            read_bitstream(data[:n], *GEO)


def test_every_single_bit_flip_is_rejected():
    for num_samples, bits in [(700, 10), (300, 10), (100, 3)]:
        _, _, data = make(num_samples=num_samples, k=3, bits=bits)
        for i in range(len(data) * 8):
            flipped = bytearray(data)
            flipped[i // 8] ^= 0x80 >> (i % 8)
            with pytest.raises(FormatError):
                read_bitstream(bytes(flipped), *GEO)


def test_hostile_huge_header_fails_fast():
    frames = (1 << 32) - 1  # consistent header for ~2.7 years of audio, but only 40 bytes
    hostile = forge((MODEL, 16000, frames * 320, 64, 16, frames), b"1234")
    t0 = time.process_time()
    with pytest.raises(FormatError, match="truncated"):
        read_bitstream(hostile, *GEO)
    assert read_header(hostile, *GEO).num_frames == frames  # header alone is valid
    with pytest.raises(FormatError, match="inconsistent"):
        read_bitstream(forge((MODEL, 1, (1 << 64) - 1, 64, 16, frames)), *GEO)
    assert time.process_time() - t0 < 0.05


def test_model_id_and_other_frame_geometry():
    """The geometry comes from the caller (the model the id names), not from the file."""
    assert read_model_id(make()[2]) == MODEL and read_model_id(make()[2][:HEADER_SIZE]) == MODEL
    assert frames_for(160, 16000, 16000, 160) == 1 and frames_for(161, 16000, 16000, 160) == 2
    assert frames_for(48000, 48000, 24000, 480) == 50  # 1 s at 24 kHz, 20 ms frames
    assert output_samples_for(3, 48000, 24000) == 2  # 1.5 rounds up
    for rate, hop in [(16000, 160), (16000, 640), (8000, 320), (24000, 480)]:
        n = 12345
        h = Header(MODEL, 44100, n, 4, 10, frames_for(n, 44100, rate, hop), rate, hop)
        codes = np.zeros((4, h.num_frames), int)
        data = write_bitstream(h, codes)
        assert read_bitstream(data, rate, hop)[0] == h
        assert h.nominal_kbps == 4 * 10 * rate / hop / 1000
        assert h.output_samples == output_samples_for(n, 44100, rate)
        if (rate, hop) != GEO and frames_for(n, 44100, *GEO) != h.num_frames:
            with pytest.raises(FormatError, match="inconsistent"):
                read_bitstream(data, *GEO)  # the geometry of another model does not fit


def test_check_integrity_needs_no_model():
    _, _, data = make(num_samples=700, k=3)
    check_integrity(data)
    corrupt = bytearray(data)
    corrupt[7] ^= 0x04  # in the model id
    for bad, match in [(bytes(corrupt), "CRC"), (data[:-1], "truncated"),
                       (data + b"\0", "trailing"), (b"RIFF", "magic"),
                       (forge((MODEL, 16000, 700, 0, 10, 3)), "codebooks")]:
        with pytest.raises(FormatError, match=match):
            check_integrity(bad)
