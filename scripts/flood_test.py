"""Network hostility on loopback: a junk flood at the receiver's port while a real paced stream plays.

Three processes on 127.0.0.1, each started here and stopped by this script: ``codec receive`` on a
free port, a paced ``codec send -`` fed ``--seconds`` of speech (default: the clips in samples/,
concatenated and repeated) as raw PCM on stdin, and a flooder (this script with ``--flooder``)
that sends ``--packets`` junk datagrams at ``--rate`` per second from the moment the speech
starts: random bytes (0-1500), bit-flipped packets of this model's format (magic kept, random
stream ids), well-formed packets of other streams (this model's tag and id, random stream ids),
packets of other models (other tags, foreign START), and oversized datagrams (1501-65507 bytes,
behind a valid-looking header). At the end it prints a markdown table: packets flooded, junk
counted by the receiver, received / lost / concealed frames, the kernel's UDP receive-buffer
drops, the receiver's RSS when the stream started and its peak (VmHWM), and WB-PESQ of the
received audio against ``codec decode`` of the same input (``decompress(compress(x))``), with
pass/fail against 3.5.

With ``--restart`` the receiver is killed (SIGKILL) halfway through the call and a new one is
started on the same port; it must lock on to the next packets of the call (the flood still
running), so its output is the later part of the input: the table gives the frame it resumed
at, the frame that was being sent when it started listening, and WB-PESQ against the same
stretch of the reference.

    python scripts/flood_test.py                       # 100,000 packets at 10,000/s, 12 s of speech
    python scripts/flood_test.py --restart
    python scripts/flood_test.py talk.wav --packets 5000 --rate 1000 --seconds 6
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
WEIGHTS_CONFIG = ROOT / "codec" / "weights" / "config.json"
FRAME_S = 0.02
PESQ_MIN = 3.5
MAX_UDP = 65507  # the largest IPv4 UDP payload

# kind -> share of the flood
KINDS = {"random": 0.30, "bitflip": 0.25, "other_stream": 0.20, "other_model": 0.20,
         "oversized": 0.05}


class JunkMaker:
    """Junk datagrams for a receiver of the model ``model_id`` (8 bytes); deterministic per seed.

    Every datagram is junk to a receiver that locked onto a real stream: random stream ids are
    drawn afresh for each one (so none of them is ever confirmed as a stream), and the others
    are malformed, of another model or too long.
    """

    def __init__(self, model_id: bytes, seed: int = 0, bits: int = 10):
        from codec.net.packet import model_tag_of
        self.rng = random.Random(seed)
        self.model_id, self.tag, self.bits = model_id, model_tag_of(model_id), bits
        self._big = self.rng.randbytes(MAX_UDP)
        self._kinds, self._weights = list(KINDS), list(KINDS.values())

    def _valid(self, model_id: bytes) -> bytes:
        """A well-formed START, AUDIO or END packet of a random stream of ``model_id``."""
        import numpy as np
        from codec.net.packet import (AudioPacket, EndPacket, StartPacket, encode_packet,
                                      model_tag_of)
        r, tag = self.rng, model_tag_of(model_id)
        sid, seq = r.getrandbits(32), r.getrandbits(32)
        which = r.random()
        if which < 0.15:
            return encode_packet(StartPacket(sid, model_id, seq), self.bits)
        if which < 0.25:
            return encode_packet(EndPacket(sid, tag, seq, r.getrandbits(40)), self.bits)
        codes = np.array([r.randrange(1 << self.bits) for _ in range(r.randint(1, 18))])
        return encode_packet(AudioPacket.from_codes(sid, tag, seq, codes, self.bits), self.bits)

    def _other_model(self) -> bytes:
        while True:
            model_id = self.rng.randbytes(8)
            if model_id[:2] != self.tag:
                return model_id

    def make(self) -> tuple[str, bytes]:
        """One junk datagram: ``(kind, data)``."""
        r = self.rng
        kind = r.choices(self._kinds, self._weights)[0]
        if kind == "random":
            data = r.randbytes(r.randint(0, 1500))
        elif kind == "bitflip":  # a packet of this model with 1-8 bits flipped, magic byte kept
            b = bytearray(self._valid(self.model_id))
            for _ in range(r.randint(1, 8)):
                i = r.randrange(8, 8 * len(b))
                b[i // 8] ^= 0x80 >> (i % 8)
            data = bytes(b)
        elif kind == "other_stream":
            data = self._valid(self.model_id)
        elif kind == "other_model":
            data = self._valid(self._other_model())
        else:  # oversized: a valid-looking header, then more than any packet holds
            head = self._valid(self.model_id)[:17]
            n = r.randint(1501, MAX_UDP)
            start = r.randrange(MAX_UDP - n + 1)
            data = head + self._big[start: start + n - len(head)]
        return kind, data


def flood(dest: tuple[str, int], packets: int, rate: float, maker: JunkMaker,
          time_limit: float | None = None, stop: threading.Event | None = None) -> dict:
    """Send ``packets`` junk datagrams to ``dest`` at ``rate`` per second (in 1 ms bursts), or
    until ``time_limit`` seconds or ``stop``. A send that fails (ICMP port unreachable from an
    earlier datagram while nothing listens, or no buffer) is counted in ``failed`` and not
    retried. Returns counts: sent, failed, per kind, seconds."""
    limit = time_limit if time_limit is not None else 3 * packets / rate + 10
    kinds = dict.fromkeys(KINDS, 0)
    sent = failed = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        t0 = time.monotonic()
        while sent < packets and not (stop and stop.is_set()):
            elapsed = time.monotonic() - t0
            if elapsed >= limit:
                break
            due, streak = min(int(elapsed * rate) + 1, packets), 0
            while sent < due and streak < 100:
                kind, data = maker.make()
                try:
                    sock.sendto(data, dest)
                except OSError:
                    failed += 1
                    streak += 1
                    continue
                sent, streak = sent + 1, 0
                kinds[kind] += 1
            time.sleep(0.001)
        seconds = time.monotonic() - t0
    return {"sent": sent, "failed": failed, "seconds": seconds, "kinds": kinds}


def flooder_main(args) -> None:
    """``--flooder HOST:PORT``: print ``ready``, wait for a line on stdin, flood, print JSON."""
    host, _, port = args.flooder.rpartition(":")
    maker = JunkMaker(bytes.fromhex(args.model_id), args.seed)
    print("ready", flush=True)
    sys.stdin.readline()
    stats = flood((host, int(port)), args.packets, args.rate, maker)
    print(json.dumps(stats), flush=True)


# -- the orchestration ------------------------------------------------------------------------

class Proc:
    """A child process whose stderr lines are collected with their arrival times, and whose
    VmRSS / VmHWM are sampled every 0.1 s from /proc while it runs."""

    def __init__(self, argv, stdin=None, stdout=None):
        self.p = subprocess.Popen(argv, cwd=ROOT, stdin=stdin, stdout=stdout,
                                  stderr=subprocess.PIPE)
        self.lines: list[tuple[float, str]] = []
        self.rss: list[tuple[float, int]] = []  # (time, KiB)
        self.hwm_kib = 0
        self.exited_at: float | None = None
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stderr:
            self.lines.append((time.monotonic(), line.decode(errors="replace").rstrip("\n")))

    def _sample(self) -> None:
        status = Path(f"/proc/{self.p.pid}/status")
        while self.p.poll() is None:
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                rss, hwm = (int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM"))
            except (OSError, KeyError, ValueError):
                break
            self.rss.append((time.monotonic(), rss))
            self.hwm_kib = max(self.hwm_kib, hwm)
            time.sleep(0.1)
        self.p.wait()
        self.exited_at = time.monotonic()

    def wait_line(self, pattern: str, timeout: float) -> float:
        """Time at which a stderr line matching ``pattern`` appeared."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, line in self.lines:
                if re.search(pattern, line):
                    return t
            if self.p.poll() is not None and self.exited_at:
                break
            time.sleep(0.02)
        raise RuntimeError(f"no '{pattern}' from {self.p.args[:4]}: " + self.text()[-2000:])

    def rss_at(self, t: float) -> int:
        """VmRSS (KiB) in the first sample taken at or after ``t`` (else the last one)."""
        after = [kib for ts, kib in self.rss if ts >= t]
        return after[0] if after else (self.rss[-1][1] if self.rss else 0)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def udp_counters() -> dict[str, int]:
    """The kernel's UDP counters (InDatagrams, NoPorts, RcvbufErrors, ...) from /proc/net/snmp."""
    try:
        rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()
                if line.startswith("Udp:")]
        return {k: int(v) for k, v in zip(rows[0][1:], rows[1][1:])}
    except (OSError, IndexError, ValueError):
        return {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_input(paths: list[Path], seconds: float):
    """16 kHz mono int16 speech: the files (default samples/*.flac) concatenated, repeated up to
    ``seconds``."""
    import numpy as np
    from codec.io import open_audio, read_blocks
    paths = paths or sorted(SAMPLES.glob("*.flac"))
    if not paths:
        sys.exit("no input: give speech files (samples/*.flac is missing)")
    clips = []
    for p in paths:
        with open_audio(p) as f:
            clips.append(np.concatenate(list(read_blocks(f))))
    x = np.concatenate(clips)
    x = np.tile(x, int(np.ceil(seconds * 16000 / len(x))))[: int(seconds * 16000)]
    return (np.clip(x, -1, 1) * 32767).round().astype("<i2")


def receiver(out: Path, port: int) -> Proc:
    return Proc([sys.executable, "-m", "codec", "receive", str(out), "--listen",
                 f"127.0.0.1:{port}", "--force", "--wait", "60"])


def summary_numbers(text: str) -> dict[str, int]:
    found = {}
    for key in ("received", "lost", "late", "duplicated", "early", "junk", "decoded", "concealed"):
        m = re.search(rf"\b{key} (\d+)", text)
        if m:
            found[key] = int(m.group(1))
    m = re.search(r": (\d+) samples", text)
    if m:
        found["samples"] = int(m.group(1))
    return found


def run(args) -> int:
    import numpy as np
    import soundfile as sf

    out = args.out or Path(tempfile.mkdtemp(prefix="flood_test_"))
    out.mkdir(parents=True, exist_ok=True)
    pcm = load_input(args.input, args.seconds)
    sf.write(out / "input.wav", pcm, 16000, "PCM_16")
    model_id = json.loads(WEIGHTS_CONFIG.read_text())["model_id"]
    port = free_port()
    deadline = time.monotonic() + 90 + args.seconds + args.packets / args.rate
    print(f"flood test on 127.0.0.1:{port}: {len(pcm) / 16000:.1f} s of speech at "
          f"{args.bitrate:g} kbps, {args.packets} junk datagrams at {args.rate:g}/s"
          f"{', receiver restarted mid-call' if args.restart else ''}; files in {out}", flush=True)

    procs: list[Proc] = []
    try:
        rx = receiver(out / "received.wav", port)
        procs.append(rx)
        rx.wait_line("listening on", 120)
        tx = Proc([sys.executable, "-m", "codec", "send", "-", "--to", f"127.0.0.1:{port}",
                   "--bitrate", str(args.bitrate)], stdin=subprocess.PIPE)
        fl = Proc([sys.executable, __file__, "--flooder", f"127.0.0.1:{port}", "--packets",
                   str(args.packets), "--rate", str(args.rate), "--seed", str(args.seed),
                   "--model-id", model_id], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs += [tx, fl]
        if fl.p.stdout.readline().strip() != b"ready":
            raise RuntimeError("the flooder did not start: " + fl.text()[-2000:])
        time.sleep(1.0)  # the sender loads its model alongside the flooder's imports
        udp0 = udp_counters()
        t_go = time.monotonic()
        fl.p.stdin.write(b"go\n")
        fl.p.stdin.flush()

        def feed() -> None:
            try:
                tx.p.stdin.write(pcm.tobytes())
                tx.p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
        threading.Thread(target=feed, daemon=True).start()

        rx2, t_kill, t_listen2 = None, None, None
        if args.restart:
            time.sleep(args.seconds * args.restart_at)
            t_kill = time.monotonic()
            rx.p.send_signal(signal.SIGKILL)
            rx.p.wait()
            rx2 = receiver(out / "received_after_restart.wav", port)
            procs.append(rx2)
            t_listen2 = rx2.wait_line("listening on", 120)
        for p in (tx, fl, rx2 or rx):
            p.p.wait(timeout=max(1.0, deadline - time.monotonic()))
        time.sleep(0.2)  # the samplers' last reads
        udp1 = udp_counters()
    finally:
        for p in procs:
            p.stop()

    flood_stats = json.loads(fl.p.stdout.read().decode().strip().splitlines()[-1])
    drops = udp1.get("RcvbufErrors", 0) - udp0.get("RcvbufErrors", 0)
    noports = udp1.get("NoPorts", 0) - udp0.get("NoPorts", 0)
    t_sent, sent_line = next(((t, line) for t, line in tx.lines if "sent stream" in line),
                             (None, ""))
    m = re.search(r"in ([\d.]+) s, (\d+) audio packets", sent_line)
    send_seconds, audio_sent = (float(m.group(1)), int(m.group(2))) if m else (None, None)
    t_first = t_sent - send_seconds if m else None  # when the sender's first packet left

    import torch
    torch.set_num_threads(1)
    import codec
    from codec.evaluation.metrics import wb_pesq
    model = codec.load_model()
    x = pcm.astype(np.float32) / 32768
    reference = codec.decompress(codec.compress(x, 16000, args.bitrate, model=model), model=model)[0]

    final = rx2 or rx
    nums = summary_numbers(final.text())
    out_file = out / ("received_after_restart.wav" if rx2 else "received.wav")
    received = sf.read(out_file, dtype="float32")[0] if out_file.exists() else np.zeros(0)
    first = (len(pcm) - len(received)) // 320 if rx2 else 0
    pesq = wb_pesq(reference[first * 320:], received) if len(received) else None
    rss_start = final.rss_at((t_listen2 if rx2 else t_go) + 1.0) / 1024  # after warm-up
    rss_end = final.rss[-1][1] / 1024 if final.rss else 0.0
    peak = final.hwm_kib / 1024

    rate = flood_stats["sent"] / max(flood_stats["seconds"], 1e-9)
    rows = [("flood", f"{flood_stats['sent']} datagrams sent in {flood_stats['seconds']:.1f} s "
             f"({rate:.0f}/s), {flood_stats['failed']} "
             "failed sends; " + ", ".join(f"{k} {v}" for k, v in flood_stats['kinds'].items())),
            ("stream", f"{len(pcm) / 16000:.2f} s, {audio_sent} audio packets sent by `codec send`"
             f" (paced, {send_seconds} s)"),
            ("kernel", f"UDP receive-buffer drops {drops}, datagrams to a closed port {noports}")]
    checks = []
    if "junk" in nums:
        rows.append(("receiver counts", ", ".join(f"{k} {v}" for k, v in nums.items())))
    if rx2 is None:
        junk = nums.get("junk", -1)
        ok = flood_stats["sent"] - drops <= junk <= flood_stats["sent"]
        checks.append(("junk counted = flood sent - kernel drops", ok,
                       f"{junk} counted, {flood_stats['sent']} sent, {drops} dropped"))
        checks.append(("whole stream written", len(received) == len(pcm),
                       f"{len(received)} of {len(pcm)} samples"))
    else:
        frame_at_listen = (t_listen2 - t_first) / FRAME_S if t_first else float("nan")
        lag = first - frame_at_listen
        checks.append(("restarted receiver resumed on the next packets", -1 <= lag <= 5,
                       f"killed at {t_kill - t_go:.1f} s; new one listening at frame "
                       f"{frame_at_listen:.1f}, output starts at frame {first} "
                       f"({lag * 20:+.0f} ms)"))
        part = sorted(p.name for p in out.glob(".received.wav.*.part"))
        rows.append(("killed receiver", f"no received.wav: {not (out / 'received.wav').exists()}"
                     f"; temporary file left by SIGKILL: {', '.join(part) or 'none'}"))
    checks.append((f"WB-PESQ vs `codec decode` >= {PESQ_MIN}",
                   pesq is not None and pesq >= PESQ_MIN,
                   "not available (pip install pesq)" if pesq is None else f"{pesq:.2f}"
                   + (f" (frames {first} on)" if first else "")))
    grown = peak - rss_start
    checks.append(("receiver memory bounded (peak - RSS 1 s into the stream < 32 MiB)",
                   grown < 32, f"RSS {rss_start:.0f} MiB 1 s into the stream, {rss_end:.0f} MiB "
                   f"at the end, peak (VmHWM) {peak:.0f} MiB (+{grown:.0f})"))

    print("\n| | |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\n| check | result | |\n|---|---|---|")
    for name, ok, detail in checks:
        print(f"| {name} | {'PASS' if ok else 'FAIL'} | {detail} |")
    passed = all(ok for _, ok, _ in checks)
    print(f"\n{'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="*", type=Path, help="speech files (default: samples/*.flac)")
    p.add_argument("--packets", type=int, default=100_000, help="junk datagrams (100000)")
    p.add_argument("--rate", type=float, default=10_000, help="junk datagrams per second (10000)")
    p.add_argument("--seconds", type=float, default=12.0, help="speech to stream (12)")
    p.add_argument("--bitrate", type=float, default=6.0)
    p.add_argument("--restart", action="store_true",
                   help="kill the receiver mid-call and start a new one on the same port")
    p.add_argument("--restart-at", type=float, default=0.5,
                   help="when to kill it, as a fraction of --seconds after the start (0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="folder for the audio files (default: a temp folder)")
    p.add_argument("--flooder", metavar="HOST:PORT", help=argparse.SUPPRESS)
    p.add_argument("--model-id", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.flooder:
        flooder_main(args)
        return
    if args.packets < 0 or args.rate <= 0 or not 1 <= args.seconds <= 600:
        p.error("need --packets >= 0, --rate > 0 and 1 <= --seconds <= 600")
    sys.exit(run(args))


if __name__ == "__main__":
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
