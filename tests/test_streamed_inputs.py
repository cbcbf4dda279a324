"""Inputs read as they come (issue 27.3): the header first, the rest in blocks, pipes and FIFOs
streamed, memory and time bounded whatever the input's size or source."""

import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import soundfile as sf

from codec.__main__ import main

from conftest import ROOT, speech_like
from test_memory import PEAK

CODEC = [sys.executable, "-m", "codec"]
# Linux keeps the parent's peak RSS in a child that it starts with vfork + exec (pytest's, with
# torch: ~500 MB); a shell between them forks the child from its own small memory
FRESH = ["sh", "-c", '"$@"; exit $?', "sh"]
GB2 = 2 * 1024 ** 3


def run(args, capsys):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def bytes_read() -> int:
    with open("/proc/self/io") as f:
        return int(dict(line.split(": ") for line in f.read().splitlines())["rchar"])


def timed_info(path, capsys):
    t, n = time.perf_counter(), bytes_read()
    rc, _, err = run(["info", path], capsys)
    return rc, err, time.perf_counter() - t, bytes_read() - n


def test_info_answers_from_the_header_of_a_2_gb_file(tmp_path, capsys):
    wav, cdc = tmp_path / "a.wav", tmp_path / "a.cdc"
    sf.write(wav, speech_like(1.0), 16000)
    assert run(["encode", wav, cdc], capsys)[0] == 0
    small = timed_info(cdc, capsys)
    assert small[0] == 0
    zeros, padded = tmp_path / "zeros.bin", tmp_path / "padded.cdc"
    zeros.touch()
    os.truncate(zeros, GB2)  # sparse: 2 GB of zeros on no disk
    padded.write_bytes(cdc.read_bytes())
    os.truncate(padded, GB2)  # a valid header, then 2 GB
    for path, said in ((zeros, "bad magic"), (padded, "trailing bytes")):
        rc, err, seconds, read = timed_info(path, capsys)
        assert rc == 1 and said in err and len(err.splitlines()) == 1
        assert read < 1 << 20, f"info read {read} bytes of {path.name}"
        assert seconds < small[2] + 0.5, f"{seconds:.2f} s against {small[2]:.2f} s"


def test_endless_inputs_are_refused_with_one_line(tmp_path):
    for args in (["info", "/dev/zero"], ["decode", "/dev/zero", tmp_path / "x.wav"],
                 ["encode", "/dev/zero", tmp_path / "x.cdc"], ["info", "-"],
                 ["decode", "-", tmp_path / "x.wav"], ["encode", "-", tmp_path / "x.cdc"]):
        with open("/dev/zero", "rb") as zero:
            p = subprocess.run(CODEC + list(map(str, args)), stdin=zero, capture_output=True,
                               text=True, timeout=120, cwd=ROOT)
        assert p.returncode == 1 and len(p.stderr.splitlines()) == 1, (args, p.stderr)
        assert "bad magic" in p.stderr or "cannot read audio" in p.stderr
    assert not list(tmp_path.iterdir())


def _live_wav(path, x: np.ndarray, rate: int) -> bytes:
    """A WAV as a live recorder writes it to a pipe: its sizes say 'unknown' (0xFFFFFFFF)."""
    sf.write(path, x, rate, "PCM_16")
    data = bytearray(path.read_bytes())
    data[4:8] = data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    assert data[36:40] == b"data"
    return bytes(data)


def _through_pipe(args, data: bytes, peak: bool = False):
    """``codec ARGS`` (under ``PEAK`` with ``peak``) with ``data`` written into its stdin, a
    pipe: ``(exit status, stdout, stderr)``."""
    cmd = [*FRESH, sys.executable, "-c", PEAK] if peak else CODEC
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd + list(map(str, args)), stdin=subprocess.PIPE, stdout=out,
                             stderr=err, cwd=ROOT)
        try:
            for i in range(0, len(data), 1 << 16):
                p.stdin.write(data[i: i + (1 << 16)])
        except BrokenPipeError:
            pass
        p.stdin.close()
        p.wait(timeout=300)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode()


def test_pipes_are_read_as_they_come(tmp_path, capsys):
    """A live WAV from a pipe (its length unknown to its header) and a .cdc from a pipe give
    what the same files give by path."""
    x = np.stack([speech_like(1.3, 22050), speech_like(1.3, 22050, seed=1)], axis=1)
    live = _live_wav(tmp_path / "x.wav", x, 22050)
    (tmp_path / "live.wav").write_bytes(live)
    rc, _, err = _through_pipe(["encode", "-", tmp_path / "p.cdc"], live)
    assert rc == 0, err
    assert run(["encode", tmp_path / "x.wav", tmp_path / "f.cdc"], capsys)[0] == 0
    assert (tmp_path / "p.cdc").read_bytes() == (tmp_path / "f.cdc").read_bytes()
    rc, _, err = _through_pipe(["decode", "-", tmp_path / "p.wav"], (tmp_path / "p.cdc").read_bytes())
    assert rc == 0, err
    assert run(["decode", tmp_path / "f.cdc", tmp_path / "f.wav"], capsys)[0] == 0
    assert (tmp_path / "p.wav").read_bytes() == (tmp_path / "f.wav").read_bytes()
    data = (tmp_path / "f.cdc").read_bytes()
    for sent, said in ((data[:-3], "truncated bitstream"), (data + bytes(5), "5 trailing bytes"),
                       (data[:-1] + bytes([data[-1] ^ 1]), "CRC mismatch")):
        rc, _, err = _through_pipe(["info", "-"], sent)
        assert rc == 1 and said in err and len(err.splitlines()) == 1, err


def test_ten_minutes_from_a_pipe_need_the_memory_of_the_file(tmp_path):
    """Peak RSS of `codec encode - x.cdc` fed 10 min of 48 kHz stereo (115 MB) through a pipe
    is within 1.2x of `codec encode FILE x.cdc` (it held the whole input before)."""
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    second = (rng.standard_normal((48000, 2)) * 0.1).astype(np.float32)
    with sf.SoundFile(path, "w", 48000, 2, "PCM_16") as f:
        for _ in range(600):
            f.write(second)
    by_path = subprocess.run([*FRESH, sys.executable, "-c", PEAK, "encode", path,
                              tmp_path / "f.cdc"], cwd=ROOT, capture_output=True, text=True,
                             check=True)
    rc, out, err = _through_pipe(["encode", "-", tmp_path / "p.cdc"], path.read_bytes(),
                                 peak=True)
    assert rc == 0, err
    file_kib, pipe_kib = int(by_path.stdout.split()[-1]), int(out.split()[-1])
    assert (tmp_path / "p.cdc").read_bytes() == (tmp_path / "f.cdc").read_bytes()
    assert pipe_kib <= 1.2 * file_kib, f"pipe {pipe_kib} KiB, file {file_kib} KiB"


def _sent_through(args, data: bytes | None, tmp_path, name: str):
    """What a receiver (in this process, the shipped model) writes while ``codec send ARGS``
    runs, with ``data`` on its stdin (a pipe): ``(exit status, stderr, samples)``."""
    from codec.net.receiver import Receiver
    rx = Receiver(None, ("127.0.0.1", 0), wait=60, idle_timeout=1)
    result = {}
    thread = threading.Thread(target=lambda: result.update(stats=rx.run(tmp_path / name)))
    thread.start()
    host, port = rx.address
    rc, _, err = _through_pipe(["send", *args, "--to", f"{host}:{port}", "--no-pace"],
                               data or b"")
    thread.join(60)
    return rc, err, sf.read(tmp_path / name, dtype="int16")[0]


def test_send_and_encode_read_stdin_by_its_header(tmp_path, capsys):
    """`cat m.wav | codec send -` sends what `codec send m.wav` sends (it took the WAV for raw
    PCM: a click from its header, a stereo 44.1 kHz file as noise); raw PCM only with --raw and
    its rate, read the same way by encode and send."""
    x = np.stack([speech_like(1.0, 44100), speech_like(1.0, 44100, seed=1)], axis=1)
    wav = tmp_path / "m.wav"
    sf.write(wav, x, 44100, "PCM_16")
    rc, err, by_path = _sent_through([wav], None, tmp_path, "a.wav")
    assert rc == 0, err
    rc, err, piped = _sent_through(["-"], wav.read_bytes(), tmp_path, "b.wav")
    assert rc == 0 and "resampling 44100 Hz" in err, err
    assert len(piped) == 16000 and np.array_equal(piped, by_path)

    pcm = sf.read(wav, dtype="int16")[0].astype("<i2").tobytes()  # the WAV's own samples
    rc, err, raw = _sent_through(["-", "--raw", "s16le", "--rate", "44100", "--channels", "2"],
                                 pcm, tmp_path, "c.wav")
    assert rc == 0 and np.array_equal(raw, by_path), err
    rc, _, err = _through_pipe(["encode", "-", tmp_path / "r.cdc", "--raw", "s16le", "--rate",
                                "44100", "--channels", "2"], pcm)
    assert rc == 0, err
    assert run(["encode", wav, tmp_path / "w.cdc"], capsys)[0] == 0
    assert (tmp_path / "r.cdc").read_bytes() == (tmp_path / "w.cdc").read_bytes()

    rc, _, err = _through_pipe(["send", "-", "--to", "127.0.0.1:9"], pcm)  # no header, no --raw
    assert rc == 1 and "--raw s16le --rate" in err and len(err.splitlines()) == 1, err
    for args, said in ((["--raw", "s16le"], "--raw needs --rate"),
                       (["--rate", "16000"], "add --raw FORMAT")):
        for command in (["encode", "-", tmp_path / "z.cdc"], ["send", "-", "--to", "h:1"]):
            rc, _, err = _through_pipe([*command, *args], b"")
            assert rc == 2 and said in err, err
