"""Outputs never destroy anything: the input is refused as output however it is named, devices
and FIFOs are written in place, regular files replaced atomically and only with --force, new
files get the umask's mode, and an interrupted command leaves nothing and exits 130."""

import os
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from codec.__main__ import main
from codec.errors import ArgumentError
from codec.formats import bitstream
from codec.runtime import api
from codec.runtime.audio import Output

from conftest import ROOT, speech_like


@pytest.fixture()
def files(tmp_path, monkeypatch):
    """m.wav (1 s of speech) and m.cdc in a fresh folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    sf.write("m.wav", speech_like(1.0), 16000, subtype="PCM_16")
    assert main(["encode", "m.wav", "m.cdc"]) == 0
    return tmp_path


def run(args, capsys):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, err


def one_line_error(err: str, *words: str) -> bool:
    return (err.startswith("codec: error: ") and err.count("\n") == 1 and "Traceback" not in err
            and ".part" not in err and all(w in err for w in words))


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("command,src,spelling", [
    ("encode", "m.wav", "m.wav"), ("encode", "m.wav", "./m.wav"),
    ("encode", "m.wav", "../{dir}/m.wav"), ("encode", "m.wav", "hard.cdc"),
    ("encode", "m.wav", "link.cdc"), ("decode", "m.cdc", "m.cdc"), ("decode", "m.cdc", "hard.cdc"),
    ("decode", "m.cdc", "link.cdc")])
def test_the_input_is_never_the_output(files, capsys, command, src, spelling):
    os.link(src, "hard.cdc")
    os.symlink(src, "link.cdc")
    before = snapshot(files)
    rc, err = run([command, src, spelling.format(dir=files.name), "--force"], capsys)
    assert rc == 1 and one_line_error(err, "it is ", "input"), err
    assert snapshot(files) == before and os.path.islink("link.cdc")


def test_stdin_redirected_from_the_output_is_refused(files):
    """`codec decode - m.cdc --force < m.cdc` and `codec encode m.wav - >> m.wav`."""
    before = snapshot(files)
    with open("m.cdc", "rb") as stdin:
        p = subprocess.run([sys.executable, "-m", "codec", "decode", "-", "m.cdc", "--force"],
                           stdin=stdin, capture_output=True, cwd=files)
    assert p.returncode == 1 and b"input" in p.stderr and b"Traceback" not in p.stderr
    with open("m.wav", "ab") as stdout:
        p = subprocess.run([sys.executable, "-m", "codec", "encode", "m.wav", "-"],
                           stdout=stdout, stderr=subprocess.PIPE, cwd=files)
    assert p.returncode == 1 and b"stdout" in p.stderr and b"input" in p.stderr
    assert snapshot(files) == before


def test_character_device_is_written_in_place_without_force(files, capsys):
    assert run(["decode", "m.cdc", "/dev/null"], capsys)[0] == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_is_written_in_place(files, capsys):
    os.mkfifo("pipe")
    got = {}

    def reader():
        with open("pipe", "rb") as f:
            got["data"] = f.read()
    t = threading.Thread(target=reader)
    t.start()
    rc, err = run(["decode", "m.cdc", "pipe"], capsys)
    t.join(30)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.stat("pipe").st_mode) and got["data"][:4] == b"RIFF"


def test_symlinked_output_writes_its_target(files, capsys):
    (files / "real.wav").write_bytes(b"old")
    os.symlink("real.wav", "alias.wav")
    assert run(["decode", "m.cdc", "alias.wav", "--force"], capsys)[0] == 0
    assert os.path.islink("alias.wav") and sf.info("real.wav").frames == 16000


def test_refused_kinds_of_output(files, capsys):
    os.mkdir("folder")
    for dest, words in [("folder", ("folder", "directory")),
                        ("missing/x.wav", ("missing/x.wav", "folder missing does not exist")),
                        ("x.mp3", ("x.mp3", ".wav, .flac or .ogg")),
                        ("x.wav.part", ("x.wav.part", ".part"))]:
        rc, err = run(["decode", "m.cdc", dest], capsys)
        assert rc == 1 and err.startswith("codec: error: ") and err.count("\n") == 1, (dest, err)
        assert all(w in err for w in words), (dest, err)
    rc, err = run(["encode", "m.wav", "folder"], capsys)
    assert rc == 1 and one_line_error(err, "folder", "directory")
    assert sorted(os.listdir()) == ["folder", "m.cdc", "m.wav"]


def test_a_bitstream_is_not_named_as_audio(files, capsys):
    rc, err = run(["encode", "m.wav", "out.wav"], capsys)
    assert rc == 1 and one_line_error(err, "out.wav", "out.cdc") and not os.path.exists("out.wav")


def test_block_devices_and_sockets_are_refused(tmp_path):
    import socket
    sock = socket.socket(socket.AF_UNIX)
    path = tmp_path / "s"
    sock.bind(str(path))
    try:
        with pytest.raises(ArgumentError, match="is a socket"):
            Output(path, force=True)
    finally:
        sock.close()
    block = next((f"/dev/{n}" for n in sorted(os.listdir("/dev"))
                  if stat.S_ISBLK(os.lstat(f"/dev/{n}").st_mode)), None)
    if block:  # only checked, never opened
        with pytest.raises(ArgumentError, match="is a block device"):
            Output(block, force=True)


def test_regular_files_need_force_and_are_replaced_atomically(files, capsys):
    (files / "out.wav").write_bytes(b"keep me")
    rc, err = run(["decode", "m.cdc", "out.wav"], capsys)
    assert rc == 1 and one_line_error(err, "out.wav", "--force")
    assert (files / "out.wav").read_bytes() == b"keep me"
    inode = os.stat("out.wav").st_ino
    assert run(["decode", "m.cdc", "out.wav", "--force"], capsys)[0] == 0
    assert os.stat("out.wav").st_ino != inode and sf.info("out.wav").frames == 16000


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_get_the_umasks_mode(files, capsys, mask):
    old = os.umask(mask)
    try:
        assert run(["decode", "m.cdc", "a.wav"], capsys)[0] == 0
        assert run(["encode", "m.wav", "a.cdc"], capsys)[0] == 0
    finally:
        os.umask(old)
    for name in ("a.wav", "a.cdc"):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o666 & ~mask, name


@pytest.mark.parametrize("ext,fmt", [(".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG"),
                                     (".WAV", "WAV"), ("", "WAV")])
def test_extension_picks_the_format(files, capsys, ext, fmt):
    assert run(["decode", "m.cdc", f"out{ext}"], capsys)[0] == 0
    info = sf.info(f"out{ext}")
    assert (info.format, info.frames, info.samplerate) == (fmt, 16000, 16000)


def test_receive_refuses_a_bad_output_before_listening(files, capsys):
    rc, err = run(["receive", "x.mp3", "--listen", "127.0.0.1:0", "--wait", "0"], capsys)
    assert rc == 1 and one_line_error(err, "x.mp3")
    rc, err = run(["receive", "m.wav", "--listen", "127.0.0.1:0", "--wait", "0"], capsys)
    assert rc == 1 and one_line_error(err, "m.wav", "--force")


def test_interrupted_encode_and_decode_remove_partial_output(files, capsys, monkeypatch):
    real = api.code_blocks

    def interrupt(*args, **kwargs):  # after the first block is written into the output
        yield next(real(*args, **kwargs))
        raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(api, "code_blocks", interrupt)
        rc, err = run(["encode", "m.wav", "x.cdc"], capsys)
    assert rc == 130 and "interrupted" in err and sorted(os.listdir()) == ["m.cdc", "m.wav"]

    def partial(f, blocks, rate, *fmt):
        f.write(b"RIFF partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(api, "write_audio_blocks", partial)
    rc, err = run(["decode", "m.cdc", "x.wav"], capsys)
    assert rc == 130 and sorted(os.listdir()) == ["m.cdc", "m.wav"]


@pytest.mark.parametrize("stop, status", [(KeyboardInterrupt, 130), ("Terminated", 143)])
def test_interrupted_send_sends_end_and_exits_with_the_signals_status(files, capsys, monkeypatch,
                                                                       stop, status):
    """Ctrl-C or SIGTERM while sending: the frames sent so far are followed by END (so the
    receiver ends the stream at once), and the exit status is the signal's."""
    import socket

    from codec.formats.packet import EndPacket, decode_packet
    from codec.net import sender
    from codec.runtime.signals import Terminated
    stop = Terminated(143) if stop == "Terminated" else stop()
    real = sender.Sender.send_frame

    def send_frame(self, frame):
        if self.stats.frames == 10:
            raise stop
        real(self, frame)
    monkeypatch.setattr(sender.Sender, "send_frame", send_frame)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = listener.getsockname()[1]
        try:  # main returns 130 for Ctrl-C; SIGTERM's exception is a SystemExit
            rc = main(["send", "m.wav", "--to", f"127.0.0.1:{port}", "--no-pace"])
        except SystemExit as e:
            rc = e.code
        err = capsys.readouterr().err
        packets = []
        while not any(isinstance(p, EndPacket) for p in packets):
            packets.append(decode_packet(listener.recv(2048)))
    assert rc == status and "10 frames" in err and "(interrupted)" in err
    assert packets[-1].seq == 10 and packets[-1].total_samples == 10 * 320


def test_sigterm_removes_partial_output(tmp_path, shipped_model):
    """A long decode killed with SIGTERM while writing leaves no output, no temporary file."""
    frames = 50 * 3600
    header = bitstream.Header(shipped_model.model_id, 16000, frames * 320, 3, 10, frames, 16000, 320)
    src = tmp_path / "hour.cdc"
    src.write_bytes(bitstream.write_bitstream(header, np.zeros((3, frames), np.int64)))
    p = subprocess.Popen([sys.executable, "-m", "codec", "decode", str(src), str(tmp_path / "o.wav")],
                         cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".o.wav.*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    p.terminate()
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert sorted(x.name for x in tmp_path.iterdir()) == ["hour.cdc"]


@pytest.mark.parametrize("sig, status, message", [("SIGTERM", 143, ""),
                                                 ("SIGINT", 130, "codec: interrupted\n")])
def test_a_signal_inside_soundfiles_write_callback_exits_with_its_status(
        files, monkeypatch, capsys, sig, status, message):
    """soundfile writes to a file object through a C callback: a signal that lands while Python
    code runs inside it has its exception reported as ignored there, and the write fails with an
    AssertionError instead. The command still exits with the signal's status, prints what that
    signal prints and nothing else, and leaves no output."""
    import signal
    from codec.runtime import api as api_module
    real = api_module.write_audio_blocks

    class SignalOnSecondWrite:
        def __init__(self, f):
            self.f, self.calls = f, 0

        def write(self, data):
            self.calls += 1
            if self.calls == 2:  # the handler runs here, inside soundfile's callback
                os.kill(os.getpid(), getattr(signal, sig))
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(api_module, "write_audio_blocks",
                        lambda f, *a, **k: real(SignalOnSecondWrite(f), *a, **k))
    hook = sys.unraisablehook
    try:
        rc, err = run(["decode", "m.cdc", "o.wav"], capsys)
    except SystemExit as e:  # SIGTERM raised outside the callback would end here
        rc, err = e.code, capsys.readouterr().err
    assert sys.unraisablehook is hook  # restored for whatever runs next in this process
    assert (rc, err) == (status, message)
    assert sorted(x.name for x in files.iterdir()) == ["m.cdc", "m.wav"]


def test_a_dropped_signal_replaces_the_error_it_caused():
    """The other way a C call goes on after a dropped signal: it fails with an error of its own
    (a short write's). The signal's exception comes out instead, and without a signal the error
    comes out as it is."""
    import signal
    from codec.runtime.signals import handled, raise_dropped

    def call_that_drops_the_signal():
        try:  # what cffi does with an exception raised in a callback
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
        except SystemExit:
            pass
        raise RuntimeError("short write")

    with handled():
        with pytest.raises(SystemExit) as e, raise_dropped():
            call_that_drops_the_signal()
        assert e.value.code == 143
        with pytest.raises(RuntimeError), raise_dropped():
            raise RuntimeError("short write")


def test_a_caught_signal_is_not_raised_again():
    """``receive`` catches the signal that ends its stream (``caught()``) inside the writer's
    ``raise_dropped()``, which then does not raise it again; a signal dropped later still is."""
    import signal
    from codec.runtime.signals import caught, handled, raise_dropped

    def signal_now(sig):
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs here

    with handled():
        with raise_dropped():
            try:
                signal_now(signal.SIGINT)
            except KeyboardInterrupt:
                caught()
        with pytest.raises(KeyboardInterrupt), raise_dropped():
            try:
                signal_now(signal.SIGINT)
            except KeyboardInterrupt:  # dropped, as in a callback
                pass


def test_broken_pipe_is_one_line(files):
    p = subprocess.run(f"{sys.executable} -m codec decode m.cdc - --rate 384000 | head -c 10",
                       shell=True, capture_output=True, cwd=files)
    assert p.stderr.decode() == "codec: error: the output pipe was closed before the end\n"
