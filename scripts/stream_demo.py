"""Live-streaming demo on loopback: a sender and a receiver process, with a simulated network.

The sender paces one packet per frame (the model's hop) as a live source would (and can drop a fraction of the
audio packets); a relay thread in this process delays each packet by ``--delay-ms`` plus a
random ``0..--jitter-ms`` and holds a ``--reorder`` fraction back two to three frames more; the
receiver plays out in real time through its jitter buffer (``--buffer-ms``, adaptive) and
prints its counters every second. At the end the demo reports WB-PESQ of the received audio
against the sent audio (next to the codec alone, without the network; needs the eval extra,
left out with a note without it: the live path itself runs on the runtime alone, no torch) and the
measured mouth-to-ear latency: from the moment a frame's first sample was captured to the
moment the receiver handed that frame to the sound card (both processes read the same
monotonic clock), i.e. framing + encoding + network + jitter buffer + decoding, without the
sound card's own buffer. A process that fails ends the demo at once: exit 1, its error on one
line.

    python scripts/stream_demo.py                      # 10 s of speech from ../shared/data
    python scripts/stream_demo.py talk.wav --loss 0.05 --jitter-ms 40 --reorder 0.02
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing as mp
import random
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

MANIFEST = ROOT.parent / "shared" / "data" / "eval.tsv"
SAMPLES = ROOT / "samples"


def default_input() -> Path:
    """The first eval file from ../shared/data, else the first audio file in samples/."""
    from codec.runtime.audio import list_audio_files
    found = list_audio_files(MANIFEST) if MANIFEST.is_file() else []
    found = found or list_audio_files(SAMPLES, recursive=False)
    if not found:
        sys.exit(f"no speech found: give an input file (neither {MANIFEST} nor {SAMPLES}/*.wav)")
    return found[0]


def _load(model_dir):
    """The runtime's engine (ONNX Runtime, no torch): the live path runs in the runtime-only
    install (pip install .)."""
    from codec.runtime.engine import load_engine, shipped_engine
    return load_engine(model_dir) if model_dir else shipped_engine()


class ChildError(str):
    """What a child process sends its parent instead of a result when it fails."""


def child(name: str, conn, *args) -> None:
    """A child's entry point: ``name``'s function; an error goes to the parent as one line
    (and the child exits 1), so the parent stops at once instead of waiting for a result."""
    try:
        globals()[name](conn, *args)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which exits with it
        text = str(e).strip().splitlines()
        conn.send(ChildError(f"{type(e).__name__}: {text[0]}" if text else type(e).__name__))
        sys.exit(1)


def expect(conn, proc, what: str, children):
    """The next message from a child; its error, or its death, ends the demo (exit 1)."""
    while not conn.poll(0.2):
        if not proc.is_alive() and not conn.poll():
            stop(children, f"the {what} process died (exit status {proc.exitcode})")
    message = conn.recv()
    if isinstance(message, ChildError):
        stop(children, f"the {what} process failed: {message}")
    return message


def stop(children, text: str) -> None:
    for proc in children:
        if proc.is_alive():
            proc.terminate()
    for proc in children:
        proc.join(5)
    sys.exit(f"stream_demo: error: {text}")


def receiver_main(conn, model_dir, out_path, buffer_ms) -> None:
    from codec.net.receiver import Receiver
    model = _load(model_dir)
    second = [0]

    def progress(s) -> None:
        second[0] += 1
        print(f"[{second[0]:3d} s] received {s.received:4d}  lost {s.lost:3d}  late {s.late:3d}  "
              f"dup {s.duplicated:3d}  concealed {s.concealed:3d}  junk {s.junk:3d}  "
              f"jitter {s.jitter_ms:5.1f} ms  buffer {s.target_ms:.0f} ms", flush=True)

    rx = Receiver(model, ("127.0.0.1", 0), realtime=True, jitter_ms=buffer_ms, wait=60,
                  progress=progress, record_times=True)
    conn.send((rx.address, model.config.sample_rate, model.hop))  # the stream's geometry
    stats = rx.run(out_path, force=True)
    conn.send((stats, rx.frame_times))


def sender_main(conn, model_dir, src, dest, bitrate, loss, seed) -> None:
    from codec.net.sender import send_file
    model = _load(model_dir)
    conn.send("ready")
    conn.recv()  # go
    conn.send(asdict(send_file(model, src, dest, bitrate=bitrate, loss=loss, seed=seed)))


class Relay(threading.Thread):
    """A UDP relay on 127.0.0.1 that delays each datagram by ``delay + uniform(0, jitter)``
    seconds, and a ``reorder`` fraction of them by two to three frames (``frame_s``) more."""

    def __init__(self, dest, delay: float, jitter: float, reorder: float, seed: int,
                 frame_s: float):
        super().__init__(daemon=True)
        self.dest, self.delay, self.jitter, self.reorder = dest, delay, jitter, reorder
        self.frame_s = frame_s
        self.rng = random.Random(seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        self.stop = threading.Event()
        self.forwarded = 0

    def run(self) -> None:
        queue, n = [], 0
        while not self.stop.is_set():
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                self.sock.sendto(heapq.heappop(queue)[2], self.dest)
                self.forwarded += 1
            self.sock.settimeout(min(0.05, max(0.0, queue[0][0] - now)) if queue else 0.05)
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                continue
            d = self.delay + self.rng.uniform(0, self.jitter)
            if self.rng.random() < self.reorder:
                d += self.rng.uniform(2, 3) * self.frame_s
            heapq.heappush(queue, (time.monotonic() + d, n, data))
            n += 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="?", type=Path, help="speech file (default: from ../shared)")
    p.add_argument("--seconds", type=float, default=10.0, help="length to stream (default 10)")
    p.add_argument("--bitrate", type=float, default=6.0)
    p.add_argument("--loss", type=float, default=0.0, help="fraction of audio packets dropped")
    p.add_argument("--delay-ms", type=float, default=10.0, help="network delay (default 10)")
    p.add_argument("--jitter-ms", type=float, default=20.0, help="random extra delay, 0..J ms")
    p.add_argument("--reorder", type=float, default=0.0, help="fraction held back 2-3 frames")
    p.add_argument("--buffer-ms", type=float, default=60.0, help="receiver jitter buffer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--out", type=Path, help="folder for sent.wav and received.wav (default: temp)")
    args = p.parse_args()

    from codec.runtime.audio import open_audio, read_blocks
    src = args.input or default_input()
    out = args.out or Path(tempfile.mkdtemp(prefix="stream_demo_"))
    out.mkdir(parents=True, exist_ok=True)

    ctx = mp.get_context("spawn")
    rx_conn, rx_child = ctx.Pipe()
    tx_conn, tx_child = ctx.Pipe()
    rx = ctx.Process(target=child, args=("receiver_main", rx_child, args.model,
                                         str(out / "received.wav"), args.buffer_ms))
    children = [rx]
    rx.start()
    # the receiver has loaded the model: its rate and hop are the stream's
    address, rate, hop = expect(rx_conn, rx, "receiver", children)
    try:
        with open_audio(src) as f:
            sent = np.concatenate(list(read_blocks(f, rate)))[: int(args.seconds * rate)]
        sf.write(out / "sent.wav", sent, rate, "PCM_16")
    except BaseException as e:  # the receiver waits for a stream that will not come
        stop(children, f"cannot read {src}: {e}")
    print(f"streaming {len(sent) / rate:.1f} s of {src} at {args.bitrate:g} kbps: loss "
          f"{args.loss:g}, delay {args.delay_ms:g} ms + jitter 0-{args.jitter_ms:g} ms, reorder "
          f"{args.reorder:g}, receiver buffer {args.buffer_ms:g} ms")
    frame_s = hop / rate
    relay = Relay(tuple(address), args.delay_ms / 1000, args.jitter_ms / 1000, args.reorder,
                  args.seed, frame_s)
    relay.start()
    tx = ctx.Process(target=child, args=("sender_main", tx_child, args.model, str(out / "sent.wav"),
                                         relay.address, args.bitrate, args.loss, args.seed))
    children.append(tx)
    tx.start()
    expect(tx_conn, tx, "sender", children)
    tx_conn.send("go")
    send_stats = expect(tx_conn, tx, "sender", children)
    stats, frame_times = expect(rx_conn, rx, "receiver", children)
    tx.join()
    rx.join()
    relay.stop.set()

    from codec.net.stats import format_summary
    print(f"\nsender: {send_stats['frames']} frames, {send_stats['sent']} packets sent, "
          f"{send_stats['dropped']} dropped (simulated loss)")
    print(format_summary(stats))
    start = send_stats["capture_start"]
    lat = np.array([t - (start + seq * frame_s) for seq, t in frame_times]) * 1000
    if len(lat):
        print(f"mouth-to-ear latency: mean {lat.mean():.1f} ms, min {lat.min():.1f}, max "
              f"{lat.max():.1f} (capture to sound card, without the card's own buffer)")

    print_scores(sent, rate, out / "received.wav", args)
    print(f"audio in {out}")


def print_scores(sent: np.ndarray, rate: int, received_path: Path, args) -> None:
    """WB-PESQ of the received audio and of the codec alone; left out, with a note, where
    the eval extra (pesq, and torch for the metrics module) is not installed."""
    try:
        from codec.evaluation.metrics import wb_pesq
    except ModuleNotFoundError as e:
        print(f"WB-PESQ: left out ({e.name} is not installed: pip install 'codec[eval]')")
        return
    from codec.runtime.api import compress, decompress
    received = sf.read(received_path, dtype="float32")[0]
    model = _load(args.model)
    codec_only = decompress(compress(sent, rate, args.bitrate, model), model)[0]
    scores = wb_pesq(sent, received, rate), wb_pesq(sent, codec_only, rate)
    if scores[0] is None:
        print("WB-PESQ: left out (pesq is not installed: pip install 'codec[eval]')")
    else:
        print(f"WB-PESQ: received {scores[0]:.2f}, codec alone {scores[1]:.2f}")


if __name__ == "__main__":
    main()
