"""Network hostility on loopback: a junk flood at the receiver's port while a real paced stream plays.

Three processes on 127.0.0.1, started and stopped here: ``codec receive`` on a free port, a
paced ``codec send -`` fed ``--seconds`` of speech (default: samples/*.flac concatenated and
repeated) as raw PCM, and a flooder (this script, ``--flooder``) sending ``--packets`` junk
datagrams at ``--rate`` per second from the moment the speech starts (kinds: ``KINDS``). It
prints markdown tables: datagrams flooded, the receiver's counters (junk, received, lost,
concealed), kernel UDP drops, the receiver's heap (RssAnon) each second and its peak RSS, and
WB-PESQ of the received audio against ``codec decode`` of the same input, pass/fail at 3.5.
With ``--restart`` the receiver is killed (SIGKILL) 3 s in and a new one started on the same
port (it takes seconds to load); it must lock on to the call's next packets under the flood, so
its output is the rest of the input (scored against the same stretch of the reference).

    python scripts/flood_test.py                 # 100,000 datagrams at 10,000/s, 12 s of speech
    python scripts/flood_test.py --restart
    python scripts/flood_test.py talk.wav --packets 5000 --rate 1000 --seconds 6
"""

from __future__ import annotations

import argparse
import json
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
PESQ_MIN = 3.5
MAX_UDP = 65507  # the largest IPv4 UDP payload

# kind -> share of the flood. random: 0-1500 random bytes; bitflip: a packet of this model with
# 1-8 bits flipped (magic kept); other_stream: a well-formed packet of this model for a made-up
# stream; other_model: the same for another model (its START is refused); oversized: a
# valid-looking header, then 1501-65507 bytes in all (cut to 2048 by the receiver)
KINDS = {"random": 0.30, "bitflip": 0.25, "other_stream": 0.20, "other_model": 0.20,
         "oversized": 0.05}


def shipped_config():
    """The shipped model's ``CodecConfig``: ``codec send`` and ``codec receive`` run that model,
    so its sample rate, hop and code width are the stream's."""
    from codec.config import CodecConfig
    return CodecConfig.from_dict(json.loads(WEIGHTS_CONFIG.read_text())["config"])


class JunkMaker:
    """Junk datagrams for a receiver of the model ``model_id`` (8 bytes); deterministic per seed.
    Stream ids are drawn afresh for each datagram, so no made-up stream is ever confirmed.
    ``bits``, ``rate`` and ``hop`` default to the shipped model's."""

    def __init__(self, model_id: bytes, seed: int = 0, bits: int | None = None,
                 rate: int | None = None, hop: int | None = None):
        from codec.formats.packet import model_tag_of
        shipped = shipped_config() if None in (bits, rate, hop) else None
        self.rng = random.Random(seed)
        self.model_id, self.tag = model_id, model_tag_of(model_id)
        self.bits = shipped.codebook_bits if bits is None else bits
        self.rate = shipped.sample_rate if rate is None else rate
        self.hop = shipped.hop if hop is None else hop
        self._big = self.rng.randbytes(MAX_UDP)
        self._kinds, self._weights = list(KINDS), list(KINDS.values())

    def _valid(self, model_id: bytes) -> bytes:
        """A well-formed START, AUDIO or END packet of a random stream of ``model_id``."""
        import numpy as np
        from codec.formats.packet import (AudioPacket, EndPacket, StartPacket, encode_packet,
                                          model_tag_of)
        r, tag = self.rng, model_tag_of(model_id)
        sid, seq = r.getrandbits(32), r.getrandbits(32)
        which = r.random()
        if which < 0.15:
            return encode_packet(StartPacket(sid, model_id, seq, self.rate, self.hop, self.bits),
                                 self.bits)
        if which < 0.25:
            return encode_packet(EndPacket(sid, tag, seq, r.getrandbits(40)), self.bits)
        codes = np.array([r.randrange(1 << self.bits) for _ in range(r.randint(1, 18))])
        return encode_packet(AudioPacket.from_codes(sid, tag, seq, codes, self.bits, seq * self.hop),
                             self.bits)

    def make(self) -> tuple[str, bytes]:
        """One junk datagram: ``(kind, data)``."""
        r = self.rng
        kind = r.choices(self._kinds, self._weights)[0]
        if kind == "random":
            data = r.randbytes(r.randint(0, 1500))
        elif kind == "bitflip":
            b = bytearray(self._valid(self.model_id))
            for _ in range(r.randint(1, 8)):
                i = r.randrange(8, 8 * len(b))
                b[i // 8] ^= 0x80 >> (i % 8)
            data = bytes(b)
        elif kind == "other_stream":
            data = self._valid(self.model_id)
        elif kind == "other_model":
            other = self.rng.randbytes(8)
            data = self._valid(other if other[:2] != self.tag else bytes(8))
        else:  # oversized
            n = r.randint(1501, MAX_UDP)
            start = r.randrange(MAX_UDP - n + 1)
            data = self._valid(self.model_id)[:17] + self._big[start: start + n - 17]
        return kind, data


def flood(dest: tuple[str, int], packets: int, rate: float, maker: JunkMaker) -> dict:
    """Send ``packets`` junk datagrams to ``dest`` at ``rate`` per second (in 1 ms bursts),
    giving up after ``3 * packets / rate + 10`` s. A failed send (no buffer) is counted in
    ``failed``, not retried. Returns counts: sent, failed, per kind, seconds."""
    limit, kinds, sent, failed = 3 * packets / rate + 10, dict.fromkeys(KINDS, 0), 0, 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        t0 = time.monotonic()
        while sent < packets and time.monotonic() - t0 < limit:
            due, streak = min(int((time.monotonic() - t0) * rate) + 1, packets), 0
            while sent < due and streak < 100:
                kind, data = maker.make()
                try:
                    sock.sendto(data, dest)
                except OSError:
                    failed, streak = failed + 1, streak + 1
                    continue
                sent, streak, kinds[kind] = sent + 1, 0, kinds[kind] + 1
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


class Proc:
    """A child process whose stderr lines are collected with their arrival times, and whose
    memory is sampled every 0.1 s from /proc while it runs: RssAnon (its heap: what a flood
    could make grow) and VmHWM (peak RSS, including the file-backed library pages that Python
    and torch touch when the process exits: 100 MiB or more)."""

    def __init__(self, argv, stdin=None, stdout=None):
        self.p = subprocess.Popen(argv, cwd=ROOT, stdin=stdin, stdout=stdout,
                                  stderr=subprocess.PIPE)
        self.lines: list[tuple[float, str]] = []
        self.heap: list[tuple[float, int]] = []  # (time, RssAnon KiB)
        self.hwm_kib = 0
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
                heap, hwm = (int(fields[k].split()[0]) for k in ("RssAnon", "VmHWM"))
            except (OSError, KeyError, ValueError):
                break
            self.heap.append((time.monotonic(), heap))
            self.hwm_kib = max(self.hwm_kib, hwm)
            time.sleep(0.1)

    def wait_line(self, pattern: str, timeout: float) -> float:
        """Time at which a stderr line matching ``pattern`` appeared."""
        deadline, hit = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            exited = self.p.poll() is not None
            hit = next((t for t, line in self.lines if re.search(pattern, line)), None)
            if hit is not None or exited:
                break
            time.sleep(0.02)
        if hit is not None:
            return hit
        raise RuntimeError(f"no '{pattern}' from {self.p.args[:4]}: " + self.text()[-2000:])

    def heap_at(self, t: float) -> int:
        """RssAnon (KiB) in the first sample taken at or after ``t`` (else the last one)."""
        after = [kib for ts, kib in self.heap if ts >= t] or [kib for _, kib in self.heap[-1:]]
        return after[0] if after else 0

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


def load_input(paths: list[Path], seconds: float, rate: int):
    """Mono int16 speech at ``rate``: the files (default samples/*.flac) concatenated, repeated
    up to ``seconds``."""
    import numpy as np
    from codec.runtime.audio import list_audio_files, open_audio, read_blocks, to_int16
    paths = paths or list_audio_files(SAMPLES, recursive=False)
    if not paths:
        sys.exit("no input: give speech files (samples/*.flac is missing)")
    x = np.concatenate([np.concatenate(list(read_blocks(open_audio(p), rate))) for p in paths])
    x = np.tile(x, int(np.ceil(seconds * rate / len(x))))[: int(seconds * rate)]
    return to_int16(x).astype("<i2")


def receiver(out: Path, port: int) -> Proc:
    return Proc([sys.executable, "-m", "codec", "receive", str(out), "--listen",
                 f"127.0.0.1:{port}", "--force", "--wait", "60"])


def memory(proc: Proc, t0: float) -> tuple[float, float, str, float]:
    """(heap 1 s after ``t0``, peak heap after that, heap each second, VmHWM), in MiB."""
    start = proc.heap_at(t0 + 1.0) / 1024  # after the decoder's warm-up
    top = max([kib for t, kib in proc.heap if t >= t0 + 1.0] or [0]) / 1024
    n = int(proc.heap[-1][0] - t0) + 1 if proc.heap else 0
    timeline = " ".join(f"{proc.heap_at(t0 + i) / 1024:.0f}" for i in range(n))
    return start, max(top, start), timeline, proc.hwm_kib / 1024


def summary_numbers(text: str) -> dict[str, int]:
    """The counters in ``codec receive``'s summary."""
    keys = ("received", "lost", "late", "duplicated", "early", "junk", "decoded", "concealed")
    found = {k: re.search(rf"\b{k} (\d+)", text) for k in keys}
    found["samples"] = re.search(r": (\d+) samples", text)
    return {k: int(m.group(1)) for k, m in found.items() if m}


def call(args, pcm, out: Path) -> dict:
    """Run the receiver(s), the paced sender and the flooder; return what was measured."""
    port, model_id = free_port(), json.loads(WEIGHTS_CONFIG.read_text())["model_id"]
    rate = shipped_config().sample_rate
    deadline = time.monotonic() + 90 + args.seconds + args.packets / args.rate
    print(f"flood test on 127.0.0.1:{port}: {len(pcm) / rate:.1f} s of speech at "
          f"{args.bitrate:g} kbps, {args.packets} junk datagrams at {args.rate:g}/s"
          f"{', receiver restarted mid-call' if args.restart else ''}; files in {out}", flush=True)
    m: dict = {"rx2": None}
    procs: list[Proc] = []
    try:
        m["rx"] = rx = receiver(out / "received.wav", port)
        procs.append(rx)
        rx.wait_line("listening on", 120)
        m["tx"] = tx = Proc([sys.executable, "-m", "codec", "send", "-", "--to",
                             f"127.0.0.1:{port}", "--bitrate", str(args.bitrate),
                             "--raw", "s16le", "--rate", str(rate)], stdin=subprocess.PIPE)
        fl = Proc([sys.executable, __file__, "--flooder", f"127.0.0.1:{port}", "--packets",
                   str(args.packets), "--rate", str(args.rate), "--seed", str(args.seed),
                   "--model-id", model_id], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs += [tx, fl]
        if fl.p.stdout.readline().strip() != b"ready":
            raise RuntimeError("the flooder did not start: " + fl.text()[-2000:])
        time.sleep(1.0)  # the sender loads its model alongside the flooder's imports
        udp0, m["t_go"] = udp_counters(), time.monotonic()
        fl.p.stdin.write(b"go\n")
        fl.p.stdin.flush()

        def feed() -> None:  # the speech, at once: the sender paces it
            try:
                tx.p.stdin.write(pcm.tobytes())
                tx.p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
        threading.Thread(target=feed, daemon=True).start()
        if args.restart:
            time.sleep(args.seconds * args.restart_at)
            m["t_kill"] = time.monotonic()
            rx.p.send_signal(signal.SIGKILL)
            rx.p.wait()
            m["rx2"] = receiver(out / "received_after_restart.wav", port)
            procs.append(m["rx2"])
            m["t_listen2"] = m["rx2"].wait_line("listening on", 120)
        for proc in (tx, fl, m["rx2"] or rx):
            proc.p.wait(timeout=max(1.0, deadline - time.monotonic()))
        time.sleep(0.2)  # the samplers' last reads
        udp1 = udp_counters()
    finally:
        for proc in procs:
            proc.stop()
    m["flood"] = json.loads(fl.p.stdout.read().decode().strip().splitlines()[-1])
    m["drops"], m["noports"] = (udp1.get(k, 0) - udp0.get(k, 0) for k in ("RcvbufErrors", "NoPorts"))
    t_sent, line = next(((t, x) for t, x in tx.lines if "sent stream" in x), (None, ""))
    found = re.search(r"in ([\d.]+) s, (\d+) audio packets", line)
    m["send_s"], m["audio_sent"] = (float(found[1]), int(found[2])) if found else (None, None)
    m["t_first"] = t_sent - m["send_s"] if found else None  # the sender's first packet
    return m


def report(args, pcm, out: Path, m: dict) -> int:
    """Score the received audio and print the tables; 0 when every check passed."""
    import numpy as np
    import soundfile as sf
    import torch
    torch.set_num_threads(1)
    import codec
    from codec.evaluation.metrics import wb_pesq
    from codec.runtime.audio import from_int16
    model = codec.load_model()
    rate, hop = model.config.sample_rate, model.hop
    x = from_int16(pcm)
    reference = codec.decompress(codec.compress(x, rate, args.bitrate, model=model), model=model)[0]
    rx, rx2, fl, final = m["rx"], m["rx2"], m["flood"], m["rx2"] or m["rx"]
    nums = summary_numbers(final.text())
    path = out / ("received_after_restart.wav" if rx2 else "received.wav")
    received = sf.read(path, dtype="float32")[0] if path.exists() else np.zeros(0)
    first = (len(pcm) - len(received)) // hop if rx2 else 0  # the frame its output starts at
    pesq = wb_pesq(reference[first * hop:], received, rate) if len(received) else None

    rows = [("flood", f"{fl['sent']} datagrams sent in {fl['seconds']:.1f} s "
             f"({fl['sent'] / max(fl['seconds'], 1e-9):.0f}/s), {fl['failed']} failed sends; "
             + ", ".join(f"{k} {v}" for k, v in fl["kinds"].items())),
            ("stream", f"{len(pcm) / rate:.2f} s, {m['audio_sent']} audio packets sent by "
             f"`codec send` (paced, {m['send_s']} s)"),
            ("kernel", f"UDP receive-buffer drops {m['drops']}, datagrams to a closed port "
             f"{m['noports']}")]
    mem = {"receiver": memory(final, m["t_listen2"] if rx2 else m["t_go"])}
    if rx2:
        mem = {"killed receiver": memory(rx, m["t_go"]), "new receiver": mem["receiver"]}
    for name, (_, _, timeline, hwm) in mem.items():
        rows.append((f"{name}: heap (RssAnon, MiB) each second from the stream's start",
                     f"{timeline}; peak RSS (VmHWM, with exit) {hwm:.0f} MiB"))
    rows.append(("new receiver's counts" if rx2 else "receiver counts",
                 ", ".join(f"{k} {v}" for k, v in nums.items())))
    checks = []
    if rx2 is None:
        junk = nums.get("junk", -1)
        checks += [("junk counted = flood sent - kernel drops",
                    fl["sent"] - m["drops"] <= junk <= fl["sent"],
                    f"{junk} counted, {fl['sent']} sent, {m['drops']} dropped"),
                   ("whole stream written", len(received) == len(pcm),
                    f"{len(received)} of {len(pcm)} samples")]
    else:
        frame_s = hop / rate
        at = (m["t_listen2"] - m["t_first"]) / frame_s if m["t_first"] else float("nan")
        checks.append(("restarted receiver resumed on the next packets", -1 <= first - at <= 5,
                       f"killed at {m['t_kill'] - m['t_go']:.1f} s; new one listening at frame "
                       f"{at:.1f}, output starts at frame {first} ({(first - at) * frame_s * 1000:+.0f} ms)"))
        flood_end = m["t_go"] + fl["seconds"]
        checks.append(("the flood was still on when the new receiver started listening",
                       m["t_listen2"] < flood_end, f"for {flood_end - m['t_listen2']:.1f} s "
                       f"more; junk counted by the new receiver {nums.get('junk')}"))
        part = sorted(p.name for p in out.glob(".received.wav.*.part"))
        rows.append(("killed receiver", f"no received.wav: {not (out / 'received.wav').exists()}"
                     f"; temporary file left by SIGKILL: {', '.join(part) or 'none'}"))
    checks.append((f"WB-PESQ vs `codec decode` >= {PESQ_MIN}",
                   pesq is not None and pesq >= PESQ_MIN,
                   "not available (pip install pesq)" if pesq is None else f"{pesq:.2f}"
                   + (f" (frames {first} on)" if first else "")))
    for name, (start, top, _, _) in mem.items():
        checks.append((f"{name}'s heap bounded (peak - 1 s into the stream < 32 MiB)",
                       top - start < 32, f"{start:.0f} MiB 1 s into the stream, peak "
                       f"{top:.0f} MiB (+{top - start:.0f})"))
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
    p.add_argument("--restart-at", type=float, default=0.25,
                   help="when to kill it, as a fraction of --seconds after the start (0.25)")
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
    import soundfile as sf
    out = args.out or Path(tempfile.mkdtemp(prefix="flood_test_"))
    out.mkdir(parents=True, exist_ok=True)
    rate = shipped_config().sample_rate
    pcm = load_input(args.input, args.seconds, rate)
    sf.write(out / "input.wav", pcm, rate, "PCM_16")
    sys.exit(report(args, pcm, out, call(args, pcm, out)))


if __name__ == "__main__":
    main()
