"""A junk flood at the receiver's UDP port during a real paced stream (the small, in-process
version of scripts/flood_test.py, with its junk generator and a tiny random model).

The flood starts before the stream, so it also covers the receiver before it locked on: junk
that looks valid (this model's tag, a made-up stream id) is a one-packet candidate stream that is
never confirmed. Every flooded datagram is junk, and the real stream's packets never are, so
the receiver's junk count equals what the flooder sent unless the kernel dropped datagrams
(UDP RcvbufErrors, checked); the output is then exactly a clean run's."""

from __future__ import annotations

import socket
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.model import CodecConfig, build_codec, load_model, save_model
from codec.net.receiver import LOCK_SLOTS, MAX_REFUSED, Receiver
from codec.net.sender import Sender
from codec.runtime.streaming import StreamDecoder, StreamEncoder
from conftest import ROOT, speech_like

sys.path.insert(0, str(ROOT / "scripts"))
from flood_test import KINDS, JunkMaker, flood, udp_counters  # noqa: E402

N = 24_000  # 1.5 s: 75 frames
JUNK = 3_000
RATE = 2_000  # per second: the flood lasts the whole stream


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = build_codec(CodecConfig(channels=8, dim=16, num_codebooks=18))
    m.train()
    m(torch.randn(4, 1, 3200) * 0.1)
    directory = tmp_path_factory.mktemp("flood_model")
    save_model(m.eval(), directory)
    yield load_model(directory)
    torch.set_num_threads(threads)


def clean_output(model, wav: np.ndarray, first: int = 0) -> np.ndarray:
    """What a receiver gives without loss or junk: the sender's frames from ``first`` on,
    decoded in order by a fresh decoder, trimmed to the input's length."""
    enc, dec = StreamEncoder(model, 6), StreamDecoder(model)
    padded = np.pad(wav, (0, -len(wav) % 320))
    payloads = [enc.encode(padded[i: i + 320]) for i in range(0, len(padded), 320)]
    return np.concatenate([dec.decode(p) for p in payloads[first:]])[: len(wav) - first * 320]


class Watched(Receiver):
    """A Receiver that records the largest sizes of the core's stores after each datagram."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.peak = dict.fromkeys(("buffer", "candidates", "refused", "ready"), 0)
        handle = self.core.handle

        def watched(data, source, now):
            handle(data, source, now)
            core = self.core
            for key, n in (("buffer", len(core.buffer) if core.buffer else 0),
                           ("candidates", len(core._candidates)),
                           ("refused", len(core._refused)), ("ready", len(core._ready))):
                self.peak[key] = max(self.peak[key], n)
        self.core.handle = watched


def start(target, *args) -> tuple[threading.Thread, dict]:
    result = {}
    thread = threading.Thread(target=lambda: result.update(value=target(*args)), daemon=True)
    thread.start()
    return thread, result


def test_junk_flood_during_a_paced_stream(model, tmp_path):
    wav = speech_like(N / 16000)
    rx = Watched(model, ("127.0.0.1", 0), wait=20)
    udp0 = udp_counters()
    rx_thread, rx_result = start(rx.run, tmp_path / "out.wav")
    junk_thread, junk = start(flood, rx.address, JUNK, RATE, JunkMaker(model.model_id, seed=1))
    time.sleep(0.2)  # some junk before the stream, while the receiver has not locked on
    sender = Sender(model, rx.address, pace=True)
    sent = sender.stream(iter([wav]))
    sender.close()
    junk_thread.join(20)
    rx_thread.join(20)
    assert not rx_thread.is_alive() and not junk_thread.is_alive()
    drops = udp_counters().get("RcvbufErrors", 0) - udp0.get("RcvbufErrors", 0)
    stats, flooded = rx_result["value"], junk["value"]
    assert flooded["sent"] == JUNK and all(flooded["kinds"][k] > 0 for k in KINDS)

    assert stats.stream_id == sender.stream_id and stats.ended
    if drops == 0:
        assert stats.junk == JUNK
        assert stats.received == stats.decoded == sent.sent == 75 and stats.concealed == 0
        out = sf.read(tmp_path / "out.wav", dtype="float32")[0]
        assert len(out) == N
        np.testing.assert_allclose(out, clean_output(model, wav), atol=1e-4)
    else:  # the kernel dropped datagrams (a very busy machine): each is junk or a lost frame
        assert JUNK - drops <= stats.junk <= JUNK and stats.lost <= drops
    assert rx.peak["buffer"] <= rx.core.capacity and rx.peak["candidates"] <= LOCK_SLOTS
    assert rx.peak["refused"] <= MAX_REFUSED and rx.peak["ready"] <= rx.core.capacity


def test_receiver_started_mid_call_under_a_flood_resumes(model, tmp_path):
    """The restart case: a receiver bound while a call and a flood are running locks on to the
    call's next packets (not to junk that looks valid), and decodes the rest of the call."""
    wav = speech_like(N / 16000, seed=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dest = s.getsockname()
    junk_thread, _ = start(flood, dest, JUNK, RATE, JunkMaker(model.model_id, seed=2))
    sender = Sender(model, dest, pace=True)  # nothing listens yet: its sends bounce
    tx_thread, _ = start(sender.stream, iter([wav]))
    time.sleep(0.6)
    rx = Watched(model, dest, wait=20)
    listening_at = sender.stats.frames  # frames 0 .. listening_at - 1 went out before the bind
    rx_thread, rx_result = start(rx.run, tmp_path / "late.wav")
    for thread in (tx_thread, junk_thread, rx_thread):
        thread.join(20)
        assert not thread.is_alive()
    sender.close()
    stats, first = rx_result["value"], rx.core.first_seq
    assert stats.stream_id == sender.stream_id and stats.ended
    assert 10 <= listening_at and listening_at - 1 <= first <= listening_at + 2
    out = sf.read(tmp_path / "late.wav", dtype="float32")[0]
    assert len(out) == N - first * 320 and stats.junk > 0
    if stats.lost == 0:
        np.testing.assert_allclose(out, clean_output(model, wav, first), atol=1e-4)
    assert rx.peak["candidates"] <= LOCK_SLOTS and rx.peak["buffer"] <= rx.core.capacity


def test_valid_looking_junk_never_captures_an_idle_receiver(model):
    """Well-formed packets of this model for made-up streams, before the real stream: each is a
    one-packet candidate that is never confirmed (the candidate table stays bounded); the real
    stream, mid-call without START as after a restart, is then locked on at its first packet."""
    from codec.formats.packet import AudioPacket, EndPacket, encode_packet, model_tag_of
    from codec.net.receiver import ReceiverCore
    maker, src = JunkMaker(model.model_id, seed=3), ("127.0.0.1", 40000)
    core = ReceiverCore(model)
    for i in range(6000):
        core.handle(maker._valid(model.model_id), ("127.0.0.1", 40001 + i % 3), i * 1e-4)
    assert core.buffer is None and core.stats.junk == 6000
    assert 0 < len(core._candidates) <= LOCK_SLOTS
    wav = speech_like(0.4, seed=2)  # 20 frames, the call's frames 100 .. 119
    enc, tag = StreamEncoder(model, 6), model_tag_of(model.model_id)
    pkts = [encode_packet(AudioPacket.from_codes(5, tag, 100 + i, enc.encode_codes(
        wav[i * 320: (i + 1) * 320]))) for i in range(20)]
    out, t = [], 1.0
    for i, p in enumerate(pkts):
        core.handle(p, src, t)
        core.handle(maker._valid(model.model_id), src, t)  # junk from the same source between
        out += core.pull_frames(t)
        t += 0.02
    core.handle(encode_packet(EndPacket(5, tag, 120, 120 * 320)), src, t)
    out += core.pull_frames(t + 1)
    assert core.first_seq == 100 and core.stats.junk == 6020 and core.stats.decoded == 20
    dec = StreamDecoder(model)
    ref = np.concatenate([dec.decode(p[17:]) for p in pkts])
    np.testing.assert_allclose(np.concatenate([s for _, s in out]), ref, atol=1e-6)
