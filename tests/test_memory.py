"""Memory does not grow with the input's length: files are read, coded and written in blocks."""

import subprocess
import sys

import numpy as np
import soundfile as sf

from conftest import ROOT

PEAK = ("import resource, sys; from codec.__main__ import main; rc = main(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")


def peak_kib(*args) -> int:
    out = subprocess.run([sys.executable, "-c", PEAK, *map(str, args)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def write_long(path, seconds: int, rate: int = 48000) -> None:
    """A stereo 48 kHz file: 1 s of noise bursts repeated, written block by block."""
    rng = np.random.default_rng(0)
    second = (rng.standard_normal((rate, 2)) * 0.1).astype(np.float32)
    with sf.SoundFile(path, "w", rate, 2, "PCM_16") as f:
        for _ in range(seconds):
            f.write(second)


def test_peak_memory_does_not_grow_with_length(tmp_path):
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    write_long(short, 10)
    write_long(long, 400)  # 400 s of 48 kHz stereo: 147 MB as float32 if held whole
    enc_short = peak_kib("encode", short, tmp_path / "s.cdc")
    enc_long = peak_kib("encode", long, tmp_path / "l.cdc")
    dec_short = peak_kib("decode", tmp_path / "s.cdc", tmp_path / "s.wav", "--rate", "original")
    dec_long = peak_kib("decode", tmp_path / "l.cdc", tmp_path / "l.wav", "--rate", "original")
    assert sf.info(tmp_path / "l.wav").frames == 400 * 48000
    growth_mib = max(enc_long - enc_short, dec_long - dec_short) / 1024
    assert growth_mib < 40, f"peak memory grew by {growth_mib:.0f} MiB for 40x the audio"
