"""Live streaming: the receiver core on synthetic packets (reorder, duplicates, late, loss, junk,
other model, restart, wrap, real-time playout) and sender + receiver over loopback UDP."""

from __future__ import annotations

import io
import re
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.__main__ import main
from codec.formats import bitstream
from codec.formats.packet import AudioPacket, EndPacket, StartPacket, encode_packet, model_tag_of
from codec.net.receiver import (MAX_REFUSED, ReceiveStats, Receiver, ReceiverCore,
                                 format_summary, unwrap)
from codec.net.sender import parse_address, send_file, send_pcm
from codec.runtime.api import decode_file, encode_file
from codec.runtime.streaming import StreamDecoder, StreamEncoder
from conftest import make_tiny_model, speech_like

SRC = ("127.0.0.1", 40000)
N = 16208  # 51 frames, the last one partial


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Frame-at-a-time work on one torch thread (as the CLI runs it): much faster when busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def net_model(one_thread, tmp_path_factory):
    """A tiny random model, codebooks initialised on noise, saved and loaded (for its id)."""
    return make_tiny_model(tmp_path_factory.mktemp("net_model"))


@pytest.fixture(scope="module")
def stream(net_model):
    """(wav, START, [AUDIO...], END, payloads) of one 6 kbps stream with id 7."""
    wav = speech_like(1.1)[:N]
    enc, tag = StreamEncoder(net_model, 6), model_tag_of(net_model.model_id)
    padded = np.pad(wav, (0, -N % 320))
    codes = [enc.encode_codes(padded[i: i + 320]) for i in range(0, len(padded), 320)]
    audio = [encode_packet(AudioPacket.from_codes(7, tag, i, c, timestamp=i * 320))
             for i, c in enumerate(codes)]
    start = encode_packet(StartPacket(7, net_model.model_id, 0, 16000, 320))
    end = encode_packet(EndPacket(7, tag, len(codes), N))
    return wav, start, audio, end, [a[17:] for a in audio]


def reference(model, payloads, lost=()):
    """Sequential StreamDecoder output, concealing the frames in ``lost`` (with the next
    payload when it is not lost too, as a receiver whose buffer holds it)."""
    dec = StreamDecoder(model)

    def frame(i, p):
        if i not in lost:
            return dec.decode(p)
        has_next = i + 1 < len(payloads) and i + 1 not in lost
        return dec.conceal(payloads[i + 1] if has_next else None)
    return np.concatenate([frame(i, p) for i, p in enumerate(payloads)])


def run(core, datagrams, step=0.001):
    """Feed datagrams ``step`` seconds apart, pulling frames as we go, then run the clock until
    the stream is done. Returns the file output, trimmed as the Receiver trims it."""
    out, t = [], 0.0
    for d in datagrams:
        core.handle(d, SRC, t)
        out += core.pull_frames(t)
        t += step
    while not core.done(t) and t < 100:
        t += 0.005
        out += core.pull_frames(t)
    samples = [s for seq, s in out if seq is not None]
    wav = np.concatenate(samples) if samples else np.zeros(0, np.float32)
    return wav[: core.final_length()]


def test_in_order_reordered_and_duplicated(net_model, stream):
    wav, start, audio, end, payloads = stream
    ref = reference(net_model, payloads)[:N]
    core = ReceiverCore(net_model)
    np.testing.assert_allclose(run(core, [start, *audio, end]), ref, atol=1e-6)
    assert core.done(10) and core.stats.ended and core.stats.decoded == len(audio)

    rng = np.random.default_rng(0)
    order = np.argsort(np.arange(len(audio)) + rng.uniform(0, 6, len(audio)))  # local reorder
    dups = [audio[i] for i in rng.choice(len(audio), 5, replace=False)]
    core = ReceiverCore(net_model)
    out = run(core, [start, *[audio[i] for i in order], *dups, end, end])
    np.testing.assert_allclose(out, ref, atol=1e-6)
    s = core.stats
    assert (s.duplicated, s.lost, s.late, s.concealed, s.junk) == (5, 0, 0, 0, 0)


def test_loss_and_reorder_exact_length(net_model, stream):
    wav, start, audio, end, payloads = stream
    rng = np.random.default_rng(1)
    lost = set(rng.choice(len(audio), len(audio) // 10, replace=False).tolist())
    order = np.argsort(np.arange(len(audio)) + rng.uniform(0, 4, len(audio)))
    core = ReceiverCore(net_model)
    out = run(core, [start] + [audio[i] for i in order if i not in lost] + [end])
    assert len(out) == N and np.isfinite(out).all()
    np.testing.assert_allclose(out, reference(net_model, payloads, lost)[:N], atol=1e-6)
    assert core.stats.lost == core.stats.concealed == len(lost)
    # the last frames lost too: END still gives the exact length
    core = ReceiverCore(net_model)
    assert len(run(core, [start, *audio[:-3], end])) == N and core.stats.lost == 3


def test_late_packet_after_concealment_and_duplicate(net_model, stream):
    _, start, audio, end, _ = stream
    core = ReceiverCore(net_model, capacity=8)
    out = run(core, [start, *audio[:3], *audio[4:12], audio[3], audio[3], *audio[12:], end])
    s = core.stats
    assert (s.late, s.duplicated, s.concealed, s.lost, s.recovered) == (1, 1, 1, 0, 1)
    assert len(out) == N and len(core.buffer) == 0


def test_junk_is_counted_and_memory_stays_bounded(net_model, stream):
    _, start, audio, end, payloads = stream
    rng = np.random.default_rng(2)
    tag, other = model_tag_of(net_model.model_id), b"zz"
    junk = []
    for i in range(10_000):
        data = bytearray(rng.bytes(int(rng.integers(0, 200))))
        if i % 2 and len(data) >= 2:  # get past the magic and version checks
            data[:2] = bytes([0xC5, 0x10 | int(rng.integers(0, 5))])
        junk.append(bytes(data))
    for i in range(500):  # well-formed, but another stream, source, model or a foreign START
        sid = int(rng.integers(8, 1 << 32))
        junk += [encode_packet(AudioPacket.from_codes(sid, tag, i, np.zeros(12, int))),
                 encode_packet(AudioPacket.from_codes(7, other, i, np.zeros(12, int))),
                 encode_packet(StartPacket(sid, rng.bytes(8), 0, 16000, 320))]
    core = ReceiverCore(net_model, capacity=16)
    for i in range(100):  # foreign STARTs before any stream: refused, a bounded memory of them
        core.handle(encode_packet(StartPacket(1000 + i, rng.bytes(8), 0, 16000, 320)), SRC, 0.0)
    assert core.buffer is None and len(core._refused) == MAX_REFUSED and core.stats.junk == 100
    core.handle(start, SRC, 0.0)
    core.handle(audio[0], ("10.0.0.1", 5), 0.0)  # right stream, wrong source
    sizes, datagrams = [], [audio[0]]
    for i, a in enumerate(audio[1:]):
        datagrams += junk[i * 230: (i + 1) * 230] + [a]
    datagrams += junk[50 * 230:] + [end]
    t = 0.0
    for d in datagrams:
        core.handle(d, SRC, t)
        core.pull_frames(t)
        sizes.append(len(core.buffer))
        t += 1e-5
    assert max(sizes) <= 16 and len(core._refused) <= MAX_REFUSED
    assert core.stats.junk == len(junk) + 101
    assert core.stats.decoded == len(audio) and core.done(t)


def test_other_model_is_refused(net_model, stream, tmp_path):
    _, start, audio, end, _ = stream
    foreign = encode_packet(StartPacket(9, b"othermod", 0, 16000, 320))
    f_audio = encode_packet(AudioPacket.from_codes(9, b"ot", 0, np.zeros(12, int)))
    f_end = encode_packet(EndPacket(9, b"ot", 1, 320))
    core = ReceiverCore(net_model)
    for d in (foreign, foreign, f_audio, f_end):
        core.handle(d, SRC, 0.0)
    assert core.buffer is None and core.refused_ended and core.stats.junk == 4
    assert "6f746865726d6f64" in core.refusal and net_model.model_id.hex() in core.refusal
    assert len(run(core, [start, *audio, end])) == N  # a right stream is still taken

    rx = Receiver(net_model, ("127.0.0.1", 0), wait=20)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in (foreign, f_audio, f_end):
            s.sendto(d, rx.address)
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="refused stream 00000009"):
            rx.run(tmp_path / "x.wav")
    assert time.monotonic() - t0 < 5 and not (tmp_path / "x.wav").exists()


def test_restart_mid_call_resumes(net_model, stream):
    _, start, audio, end, payloads = stream
    core = ReceiverCore(net_model)
    out = run(core, [*audio[40:], end])
    assert core.first_seq == 40 and len(out) == N - 40 * 320
    np.testing.assert_allclose(out, reference(net_model, payloads[40:])[: N - 40 * 320], atol=1e-6)


def test_sequence_numbers_wrap(net_model, stream):
    _, _, audio, _, payloads = stream
    assert unwrap(3, 2**32 - 2) == 2**32 + 3 and unwrap(2**32 - 1, 4) == -1
    s0, tag = 2**32 - 20, model_tag_of(net_model.model_id)
    pkts = [encode_packet(StartPacket(7, net_model.model_id, s0, 16000, 320))]
    pkts += [encode_packet(AudioPacket(7, tag, (s0 + i) % 2**32, 0, 12, p))
             for i, p in enumerate(payloads)]
    pkts.append(encode_packet(EndPacket(7, tag, (s0 + len(payloads)) % 2**32, N)))
    core = ReceiverCore(net_model)
    np.testing.assert_allclose(run(core, pkts), reference(net_model, payloads)[:N], atol=1e-6)


def test_realtime_playout(net_model, stream):
    _, start, audio, end, payloads = stream
    rng = np.random.default_rng(3)
    arrivals = [(start, 0.0)] + [(a, i * 0.02 + rng.uniform(0, 0.04)) for i, a in enumerate(audio)]
    arrivals[21] = (audio[20], 20 * 0.02 + 0.25)  # one packet 250 ms late
    arrivals.append((end, len(audio) * 0.02 + 0.01))
    arrivals.sort(key=lambda x: x[1])
    core = ReceiverCore(net_model, realtime=True, jitter_ms=60)
    out, t, k = [], 0.0, 0
    while not core.done(t):
        while k < len(arrivals) and arrivals[k][1] <= t:
            core.handle(arrivals[k][0], SRC, arrivals[k][1])
            k += 1
        out += core.pull_frames(t)
        t += 0.002
    s = core.stats
    assert (s.late, s.concealed, s.stretched, s.target_ms) == (1, 1, 1, pytest.approx(80))
    file_frames = [f for seq, f in out if seq is not None]
    assert [seq for seq, _ in out if seq is not None] == list(range(len(audio)))
    assert len(out) == len(audio) + 1 and t < len(audio) * 0.02 + 0.2
    assert np.isfinite(np.concatenate(file_frames)).all()

    burst = ReceiverCore(net_model, realtime=True, capacity=32)  # --no-pace to a player
    run(burst, [start, *audio, end], step=0.0)
    assert burst.stats.early == len(audio) - 32 and burst.stats.decoded == 32


def _ref_decode(model, src, tmp_path):
    encode_file(src, tmp_path / "ref.cdc", 6, model=model)
    decode_file(tmp_path / "ref.cdc", tmp_path / "ref.wav", model=model)
    data = (tmp_path / "ref.cdc").read_bytes()
    wav = sf.read(tmp_path / "ref.wav", dtype="float32")[0]
    return wav, bitstream.read_bitstream(data, 16000, 320)[1]


def _receive_in_thread(rx, dst):
    result = {}
    thread = threading.Thread(target=lambda: result.update(stats=rx.run(dst)))
    thread.start()
    return thread, result


def test_loopback_no_loss_matches_codec_decode(net_model, stream, tmp_path):
    wav = stream[0]
    sf.write(tmp_path / "in.wav", wav, 16000)
    ref, file_codes = _ref_decode(net_model, tmp_path / "in.wav", tmp_path)
    rx = Receiver(net_model, ("127.0.0.1", 0), wait=10)
    thread, result = _receive_in_thread(rx, tmp_path / "out.wav")
    sent = send_file(net_model, tmp_path / "in.wav", rx.address, pace=False)
    thread.join(10)
    out = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    assert len(out) == len(ref) == N and sent.samples == N
    enc = StreamEncoder(net_model, 6)
    padded = np.pad(wav, (0, -N % 320))
    codes = np.stack([enc.encode_codes(padded[i: i + 320]) for i in range(0, len(padded), 320)], 1)
    differ = np.nonzero((codes != file_codes).any(0))[0]
    agree = N if len(differ) == 0 else differ[0] * 320
    assert np.abs(out[:agree] - ref[:agree]).max() <= 1e-4
    assert result["stats"].lost == 0 and result["stats"].ended


def test_loopback_loss_ends_cleanly(net_model, stream, tmp_path):
    sf.write(tmp_path / "in.wav", stream[0], 16000)
    rx = Receiver(net_model, ("127.0.0.1", 0), wait=10, idle_timeout=20)
    thread, result = _receive_in_thread(rx, tmp_path / "out.wav")
    sent = send_file(net_model, tmp_path / "in.wav", rx.address, pace=False, loss=0.1, seed=4)
    t0 = time.monotonic()
    thread.join(10)
    assert time.monotonic() - t0 < 5  # ended by END, not by the 20 s idle timeout
    out = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    stats = result["stats"]
    assert len(out) == N and np.isfinite(out).all() and sent.dropped > 0
    assert stats.lost == sent.dropped and stats.ended and stats.junk == 0
    assert "lost" in format_summary(stats)


def test_model_none_is_the_shipped_model(tmp_path):
    """As everywhere in the library, ``model=None`` means the shipped model."""
    from codec.runtime.engine import shipped_engine
    from codec.net.sender import Sender
    shipped = shipped_engine()
    assert ReceiverCore(None).model is shipped
    sender = Sender(None, ("127.0.0.1", 9))
    sender.close()
    assert sender.encoder.model is shipped
    sf.write(tmp_path / "in.wav", speech_like(0.5), 16000)
    rx = Receiver(None, ("127.0.0.1", 0), wait=10)
    thread, result = _receive_in_thread(rx, tmp_path / "out.wav")
    sent = send_file(None, tmp_path / "in.wav", rx.address, pace=False)
    sent_pcm = send_pcm(None, io.BytesIO(bytes(640)), ("127.0.0.1", 9), pace=False)
    thread.join(10)
    assert sent.samples == 8000 and sent_pcm.frames == 1 and result["stats"].ended
    assert len(sf.read(tmp_path / "out.wav")[0]) == 8000


def test_send_pcm_from_a_pipe(net_model):
    pcm = (np.random.default_rng(5).standard_normal((8000, 2)) * 3000).astype("<i2")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        stats = send_pcm(net_model, io.BytesIO(pcm.tobytes()), rx.getsockname(), rate=8000,
                         channels=2, pace=False)
        rx.settimeout(1)
        kinds = [rx.recv(2048)[1] & 15 for _ in range(3 + stats.frames + 3)]
    assert stats.samples == 16000 and stats.frames == 50
    assert kinds.count(1) == 3 and kinds.count(2) == 50 and kinds[-3:] == [3, 3, 3]


def _wait_bound(addr):
    """Wait until some socket (the receiver's) is bound to ``addr``."""
    host, port = parse_address(addr)
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {addr}")


def test_cli_send_and_receive(net_model, tmp_path, monkeypatch, capsys):
    import codec
    monkeypatch.setattr(codec, "load_model", lambda *a: net_model)
    assert parse_address("[::1]:5004") == ("::1", 5004)
    with pytest.raises(ValueError):
        parse_address("localhost")
    sf.write(tmp_path / "in.wav", speech_like(0.5), 16000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{s.getsockname()[1]}"
    out, codes = tmp_path / "out.wav", {}
    thread = threading.Thread(target=lambda: codes.update(rx=main(
        ["receive", str(out), "--listen", addr, "--wait", "10"])))
    thread.start()
    _wait_bound(addr)
    assert main(["send", str(tmp_path / "in.wav"), "--to", addr, "--no-pace", "--loss", "0.2",
                 "--seed", "1"]) == 0
    thread.join(10)
    assert codes["rx"] == 0 and len(sf.read(out)[0]) == 8000
    err = capsys.readouterr().err
    assert "dropped by --loss" in err and "junk 0" in err
    assert main(["receive", str(out), "--listen", addr]) == 1  # exists, no --force
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("sig, status, play", [("SIGINT", 130, False), ("SIGTERM", 143, False),
                                              ("SIGINT", 130, True)])
def test_a_signal_ends_receive_and_keeps_what_it_received(tmp_path, sig, status, play):
    """Ctrl-C or SIGTERM once a stream has started ends it as the idle timeout would: the
    file keeps every frame received (a whole WAV), the summary is printed, and the exit status
    is the signal's (``--play``, without a sound card here, paces the playout)."""
    import signal
    import subprocess
    import sys

    from codec.runtime.engine import shipped_engine
    from codec.net.sender import Sender
    from conftest import ROOT
    out = tmp_path / "out.wav"
    p = subprocess.Popen([sys.executable, "-m", "codec", "receive", str(out), "--listen",
                          "127.0.0.1:0", "--idle", "60"] + ["--play"] * play,
                         cwd=ROOT, stderr=subprocess.PIPE, text=True)
    while "listening on" not in (line := p.stderr.readline()) and line:
        pass
    sender = Sender(shipped_engine(), parse_address(line.split()[-1]), pace=False)
    for frame in speech_like(1.0).reshape(50, 320):  # no END: the stream has not ended
        sender.send_frame(frame)
    sender.close()
    deadline = time.monotonic() + 60
    while sum(x.stat().st_size for x in tmp_path.glob(".out.wav.*")) < 16000 and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=60)
    assert p.returncode == status and "Traceback" not in err, err
    assert err.endswith("codec: interrupted\n") == (sig == "SIGINT"), err
    assert "packets  received" in err, err  # the summary
    received = int(re.search(r"packets  received (\d+),", err)[1])
    assert received >= 25 and len(sf.read(out)[0]) == received * 320, err
    assert not list(tmp_path.glob(".out.wav.*"))


def test_a_signal_while_receive_writes_keeps_the_file(net_model, stream, tmp_path, monkeypatch):
    """A signal that lands inside soundfile's write callback (where its exception would be
    dropped and the write cut short) takes effect once the block is written: the file is kept."""
    import os
    import signal

    from codec.net import receiver as receiver_module
    from codec.runtime.signals import Terminated, handled
    _, start, audio, _, _ = stream
    rx = Receiver(net_model, ("127.0.0.1", 0), wait=10, idle_timeout=60)
    real = receiver_module.write_audio_blocks

    class SignalInWrite:
        def __init__(self, f):
            self.f, self.sent = f, False

        def write(self, data):
            if rx.core.stats.samples and not self.sent:  # the first block of audio
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(receiver_module, "write_audio_blocks",
                        lambda f, *a, **k: real(SignalInWrite(f), *a, **k))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in [start] + audio[:30]:
            s.sendto(data, rx.address)
    with handled():
        stats = rx.run(tmp_path / "out.wav")
    assert isinstance(rx.interrupted, Terminated) and rx.interrupted.code == 143
    assert stats.samples == len(sf.read(tmp_path / "out.wav")[0]) == 30 * 320


def test_sound_card_feeds_frames_then_silence(monkeypatch):
    import sys
    import types

    from codec.net.cli import SoundCard

    class FakeStream:
        def __init__(self, callback, **kw):
            self.callback = callback

        def start(self):
            pass

        stop = close = start

    monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(OutputStream=FakeStream))
    card = SoundCard(16000)
    card.play(np.full(320, 0.5, np.float32))
    out = np.ones((512, 1), np.float32)
    card._stream.callback(out, 512, None, None)
    assert (out[:320, 0] == 0.5).all() and (out[320:, 0] == 0).all()


def test_address_errors_name_the_address(tmp_path, capsys):
    """A busy port or an address this host does not have: the error names the address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{busy.getsockname()[1]}"
        assert main(["receive", str(tmp_path / "a.wav"), "--listen", addr]) == 1
        err = capsys.readouterr().err
        assert err == f"codec: error: cannot listen on {addr}: Address already in use\n", err
    assert main(["receive", str(tmp_path / "b.wav"), "--listen", "192.0.2.1:5004"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("codec: error: cannot listen on 192.0.2.1:5004: "), err
    assert err.count("\n") == 1 and not list(tmp_path.iterdir())
    sf.write(tmp_path / "in.wav", speech_like(0.1), 16000)
    assert main(["send", str(tmp_path / "in.wav"), "--to", "255.255.255.255:5004"]) == 1
    err = capsys.readouterr().err
    assert err == "codec: error: cannot send to 255.255.255.255:5004: Permission denied\n", err


def test_send_to_a_port_where_nothing_listens_warns(tmp_path, capsys):
    """UDP confirms nothing, but a host answers a closed port with ICMP port unreachable:
    ``send`` counts those answers and says that no receiver was listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{s.getsockname()[1]}"  # closed again below: nothing listens
    sf.write(tmp_path / "in.wav", speech_like(0.4), 16000)
    assert main(["send", str(tmp_path / "in.wav"), "--to", addr]) == 0
    err = capsys.readouterr().err
    warning = re.search(rf"codec: warning: {addr} answered (\d+) packets with ICMP port "
                        r"unreachable: no receiver was listening there", err)
    assert warning and int(warning[1]) >= 10, err
    sent = send_file(None, tmp_path / "in.wav", parse_address(addr))  # paced, 20 frames
    assert sent.refused >= 10 and sent.sent == sent.frames == 20


def test_send_and_receive_summaries_report_what_a_user_can_act_on(stream, tmp_path, capsys):
    """send: the rates grow as headers are added (payload, packet headers, IP and UDP: the
    bandwidth to provision) and START/END are counted once, not spread over the seconds (with
    loss they used to lower the figure); receive in file mode: no buffer delay to report."""
    sf.write(tmp_path / "in.wav", speech_like(1.0), 16000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        addr = f"127.0.0.1:{rx.getsockname()[1]}"
        assert main(["send", "-q", str(tmp_path / "in.wav"), "--to", addr, "--no-pace"]) == 0
        assert capsys.readouterr().err == ""  # --quiet: no summary
        assert main(["send", str(tmp_path / "in.wav"), "--to", addr, "--no-pace", "--loss",
                     "0.5", "--seed", "1"]) == 0
    err = capsys.readouterr().err
    assert "6.00 kbps codec payload, 12.80 kbps with packet headers (as codec receive counts " \
        "them), 24.00 kbps on the network (with IPv4 and UDP headers); 6 START/END packets, " \
        f"{3 * len(stream[1]) + 3 * len(stream[3])} bytes" in err, err
    # 15 + 17 bytes a packet, + 28 of IPv4 and UDP, 50 a second
    stats = ReceiveStats(16000, 320, decoded=50, hold_s=50.0)
    assert "delay    none (file mode: frames are written in order, not played; --play " \
        "plays them); network jitter 0.0 ms" in format_summary(stats)
    stats.target_ms = 60.0
    assert "delay    jitter buffer 60 ms target (0 frames added), held 1000.0 ms" in \
        format_summary(stats)
