"""Speed, memory, start-up and latency benchmark of this codec, with Lyra v2 and Opus as peers.

All on one thread (ONNX Runtime sessions and ``torch.set_num_threads(1)``, TFLite
``num_threads=1``, offline runs pinned to CPU 0 with ``taskset -c 0``):

(a) streaming: per-frame ``StreamEncoder.encode`` and ``StreamDecoder.decode`` times over about
    30 s of speech at 6 kbps (`--kbps`; median and p99, after a 1 s warm-up on other instances), for the
    runtime (the shipped graphs on ONNX Runtime) and the eager torch modules, and the same for
    Lyra v2 at 6 kbps (encoder + quantizer encode; quantizer decode + LyraGAN). The systems take
    turns every 0.5 s of speech over 3 passes, so the ratios compare them under the same load;
(b) offline: ``python -m codec encode`` then ``decode`` of a long 16 kHz WAV (speech repeated,
    1 hour by default) under ``/usr/bin/time -v``: wall time, max RSS, real-time factor
    (audio seconds / (encode + decode wall seconds)); the same for opusenc/opusdec at 6 kbps;
(c) start-up, as CPU time (user + system) of fresh processes, median of 3: ``codec --version``,
    ``codec --help``, import + the shipped model + one frame encoded and decoded, and
    ``import torch`` for scale; and the peak resident memory of a process streaming the speech
    of (a) through ``StreamEncoder`` / ``StreamDecoder``;
(d) algorithmic latency: the 30 s streamed through StreamEncoder/StreamDecoder, output lag
    behind the input by cross-correlation of the waveforms and of their 1 ms envelopes (the
    frame buffering, one frame, comes on top).

    python scripts/benchmark.py --json out/bench.json            # full run
    python scripts/benchmark.py --skip-offline                   # (a), (c), (d) only
    python scripts/benchmark.py --skip-offline --candidate runs/x/best  # and a model not shipped

``--candidate`` adds a saved model's runtime stream to (a), taking turns with the others.

It ends with the targets of issue 11 and whether each is met.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]

import codec
from codec.evaluation.peers import (FRAME, LYRA_QUANTIZERS, SAMPLE_RATE, LyraPeer, OpusPeer,
                                   lyra_missing_note)
from codec.runtime.audio import list_audio_files, to_int16

MANIFEST = ROOT.parent / "shared" / "data" / "eval.tsv"
SAMPLES = ROOT / "samples"
KBPS = 6


def load_speech(seconds: float) -> np.ndarray:
    """At least ``seconds`` of 16 kHz speech: eval files from ../shared in manifest order, else
    the audio files in samples/, concatenated (repeated if too short) and cut to length."""
    paths = list_audio_files(MANIFEST) if MANIFEST.is_file() else \
        list_audio_files(SAMPLES, recursive=False)
    if not paths:
        sys.exit(f"no speech found: neither {MANIFEST} nor audio files in {SAMPLES}")
    need, parts, total = int(seconds * SAMPLE_RATE), [], 0
    for path in itertools.cycle(paths):
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
        if sr != SAMPLE_RATE:
            sys.exit(f"{path}: {sr} Hz, expected {SAMPLE_RATE}")
        parts.append(wav.mean(axis=1))
        total += len(parts[-1])
        if total >= need:
            break
    return np.concatenate(parts)[:need]


def percentiles(times_s: list[float]) -> dict:
    ms = np.asarray(times_s) * 1000
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99))}


def time_frames(encode, decode, frames: np.ndarray, enc: list, dec: list) -> None:
    """Append one stream's per-frame encode and decode times to ``enc`` and ``dec``."""
    for frame in frames:
        t0 = time.perf_counter()
        payload = encode(frame)
        t1 = time.perf_counter()
        decode(payload)
        t2 = time.perf_counter()
        enc.append(t1 - t0)
        dec.append(t2 - t1)


def codec_stream(model=None, backend: str = "auto", kbps: float = KBPS):
    enc = codec.StreamEncoder(model, bitrate=kbps, backend=backend)
    dec = codec.StreamDecoder(model, backend=backend)
    return enc.encode, dec.decode


def lyra_stream(kbps: float = KBPS):
    peer = LyraPeer(kbps)  # fresh interpreters: one set per stream
    return peer.encode_frame, peer.decode_packet


def codec_systems(model, candidates: dict | None = None) -> dict:
    """Display name -> (model, backend): the runtime (shipped graphs) first, then the reference,
    then each candidate model (``--candidate``) on the runtime."""
    systems = {"This codec (onnxruntime)": (None, "onnxruntime"),
               "This codec (eager torch)": (model, "eager")}
    for name, m in (candidates or {}).items():
        systems[f"This codec, candidate {name} (onnxruntime)"] = (m, "onnxruntime")
    return systems


def streaming(model, speech: np.ndarray, rounds: int = 3, chunk: int = 25,
              candidates: dict | None = None, kbps: float = KBPS) -> dict:
    """Per-frame times of each system over ``rounds`` passes of ``speech``, this codec at
    ``kbps`` and Lyra v2 at its nearest rate. The systems take turns every ``chunk`` frames
    (0.5 s), each on its own stream, so a slow spell of this shared machine falls on all of them
    alike; medians over all frames."""
    if model.hop != FRAME or model.config.sample_rate != SAMPLE_RATE:
        sys.exit(f"the streaming benchmark times frames of {FRAME} samples at {SAMPLE_RATE} Hz "
                 f"(Lyra's) in turns; this model's are {model.hop} at {model.config.sample_rate}")
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
    warmup = frames[: SAMPLE_RATE // FRAME]
    results = {"frames": len(frames), "rounds": rounds, "kbps": kbps,
               "frame_ms": 1000 * FRAME / SAMPLE_RATE}
    systems = {name: (lambda m=m, b=b: codec_stream(m, b, kbps), frames)
               for name, (m, b) in codec_systems(model, candidates).items()}
    if LyraPeer.is_available():
        lyra_kbps = min(LYRA_QUANTIZERS, key=lambda r: abs(r - kbps))
        systems["Lyra v2"] = (lambda: lyra_stream(lyra_kbps), to_int16(frames))
        results["lyra_kbps"] = lyra_kbps
    times = {name: ([], []) for name in systems}
    for name, (make, data) in systems.items():
        time_frames(*make(), data[: len(warmup)], [], [])
    for _ in range(rounds):
        streams = {name: make() for name, (make, _) in systems.items()}
        for start in range(0, len(frames), chunk):
            for name, (_, data) in systems.items():
                time_frames(*streams[name], data[start: start + chunk], *times[name])
    for name, (enc, dec) in times.items():
        results[name] = {"encode": percentiles(enc), "decode": percentiles(dec),
                         "total": percentiles([a + b for a, b in zip(enc, dec)])}
    return results


def timed_run(cmd: list[str]) -> dict:
    """Run ``cmd`` pinned to CPU 0 under /usr/bin/time -v: wall seconds and max RSS (MiB)."""
    full = ["taskset", "-c", "0", "/usr/bin/time", "-v", *cmd]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(full, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    return {"wall_s": hours * 3600 + minutes * 60 + seconds, "max_rss_mib": int(rss.group(1)) / 1024}


def offline(speech: np.ndarray, hours: float, opus: bool) -> dict:
    seconds = hours * 3600
    reps = int(np.ceil(seconds * SAMPLE_RATE / len(speech)))
    results = {"audio_s": seconds}
    with tempfile.TemporaryDirectory(prefix="codec-bench-") as tmp:
        wav = Path(tmp) / "long.wav"
        sf.write(str(wav), np.tile(speech, reps)[: int(seconds * SAMPLE_RATE)], SAMPLE_RATE,
                 subtype="PCM_16")
        py = [sys.executable, "-m", "codec"]
        runs = {"This codec": ([*py, "encode", str(wav), f"{tmp}/c.cdc", "--bitrate", str(KBPS)],
                               [*py, "decode", f"{tmp}/c.cdc", f"{tmp}/c.wav"], f"{tmp}/c.cdc")}
        if opus:
            runs["Opus"] = (["opusenc", "--quiet", "--hard-cbr", "--framesize", "20", "--bitrate",
                             str(KBPS), str(wav), f"{tmp}/o.opus"],
                            ["opusdec", "--quiet", "--rate", str(SAMPLE_RATE), f"{tmp}/o.opus",
                             f"{tmp}/o.wav"], f"{tmp}/o.opus")
        for name, (enc_cmd, dec_cmd, compressed) in runs.items():
            enc, dec = timed_run(enc_cmd), timed_run(dec_cmd)
            results[name] = {"encode": enc, "decode": dec,
                             "rtf": seconds / (enc["wall_s"] + dec["wall_s"]),
                             "file_kbps": os.path.getsize(compressed) * 8 / seconds / 1000}
    return results


def cpu_run(cmd: list[str]) -> dict:
    """Run ``cmd`` under /usr/bin/time: its CPU seconds (user + system), wall seconds and peak
    RSS (MiB). (Not ``os.wait4``: Linux counts the forking parent's RSS in a child's peak.)"""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        proc = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%U %S %e %M", *cmd],
                              cwd=ROOT, stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
        user, system, wall, rss_kib = map(float, out.read().split()[-4:])
    return {"cpu_s": user + system, "wall_s": wall, "max_rss_mib": rss_kib / 1024}


FIRST_FRAME = ("import numpy as np, codec; e = codec.StreamEncoder(bitrate=6); "
               "d = codec.StreamDecoder(); d.decode(e.encode(np.zeros(e.frame_size, np.float32)))")
STREAM = ("import sys, numpy as np, soundfile as sf, codec; x, _ = sf.read(sys.argv[1], "
          "dtype='float32'); e = codec.StreamEncoder(bitrate=6); d = codec.StreamDecoder(); "
          "n = e.frame_size; [d.decode(e.encode(f)) for f in x[: len(x) // n * n].reshape(-1, n)]")


def startup(speech: np.ndarray, repeats: int = 3) -> dict:
    """Median CPU (and wall) seconds of fresh processes, and a streaming process's peak RSS."""
    py = [sys.executable]
    commands = {"codec --version": [*py, "-m", "codec", "--version"],
                "codec --help": [*py, "-m", "codec", "--help"],
                "import, shipped model, one frame": [*py, "-c", FIRST_FRAME],
                "import torch (for scale)": [*py, "-c", "import torch"]}
    results = {}
    for label, cmd in commands.items():
        runs = [cpu_run(cmd) for _ in range(repeats)]
        results[label] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    with tempfile.TemporaryDirectory(prefix="codec-bench-") as tmp:
        sf.write(f"{tmp}/speech.wav", speech, SAMPLE_RATE, subtype="PCM_16")
        results["streaming process"] = cpu_run([*py, "-c", STREAM, f"{tmp}/speech.wav"])
    return results


def lag_samples(ref: np.ndarray, out: np.ndarray, max_lag: int = 4000) -> tuple[int, float]:
    """Lag of ``out`` behind ``ref`` maximising their cross-correlation, within +-max_lag, and
    the normalised correlation there (near 1 when the lag is trustworthy)."""
    n = min(len(ref), len(out))
    corr = np.fft.irfft(np.fft.rfft(out[:n], 2 * n) * np.conj(np.fft.rfft(ref[:n], 2 * n)))
    window = np.concatenate([corr[-max_lag:], corr[: max_lag + 1]])
    peak = int(np.argmax(window))
    norm = np.linalg.norm(ref[:n]) * np.linalg.norm(out[:n]) + 1e-12
    return peak - max_lag, float(window[peak] / norm)


def envelope(x: np.ndarray, width: int = 16) -> np.ndarray:
    """|x| smoothed over ``width`` samples (1 ms), mean removed: a lag measure that does not
    depend on phase, which a codec trained on spectral losses need not keep."""
    env = np.convolve(np.abs(x), np.ones(width) / width, mode="same")
    return env - env.mean()


def latency(speech: np.ndarray) -> dict:
    """Lag of the streamed output behind the input: (lag, correlation) of the waveforms and of
    their 1 ms envelopes. Waveform correlation is weak for this codec (it does not keep phase),
    so its peak can land on a pitch period; the envelope's peak is the reliable figure."""
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
    ref = frames.reshape(-1)
    encode, decode = codec_stream()
    outputs = {"This codec": np.concatenate([np.asarray(decode(encode(f)), dtype=np.float32)
                                             for f in frames])}
    if LyraPeer.is_available():
        outputs["Lyra v2"] = LyraPeer(KBPS).roundtrip(ref)
    return {name: {"waveform": lag_samples(ref, out),
                   "envelope": lag_samples(envelope(ref), envelope(np.asarray(out, np.float32)))}
            for name, out in outputs.items()}


def report(res: dict) -> str:
    out = []
    s = res["streaming"]
    codecs = [n for n in s if n.startswith("This codec")]
    lyra = f", Lyra v2 at {s['lyra_kbps']:g}" if "lyra_kbps" in s else ""
    out += [f"## Streaming, {s['kbps']:g} kbps{lyra}, one thread, {s['frames']} frames of "
            f"{s['frame_ms']:g} ms x "
            f"{s['rounds']} rounds\n",
            "| system | encode median ms | encode p99 ms | decode median ms | decode p99 ms "
            "| enc+dec median ms | x real time |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in [*codecs, "Lyra v2"]:
        if name in s:
            r = s[name]
            out.append(f"| {name} | {r['encode']['median_ms']:.3f} | {r['encode']['p99_ms']:.3f} "
                       f"| {r['decode']['median_ms']:.3f} | {r['decode']['p99_ms']:.3f} "
                       f"| {r['total']['median_ms']:.3f} | {20 / r['total']['median_ms']:.1f} |")
    if "Lyra v2" in s:
        out.append("")
        for name in codecs:
            ratio = {k: s[name][k]["median_ms"] / s["Lyra v2"][k]["median_ms"]
                     for k in ("encode", "decode", "total")}
            out.append(f"Ratio {name} / Lyra v2 (medians): encode {ratio['encode']:.2f}x, "
                       f"decode {ratio['decode']:.2f}x, enc+dec {ratio['total']:.2f}x")
    if "offline" in res:
        o = res["offline"]
        out += [f"\n## Offline, {o['audio_s'] / 3600:g} h of 16 kHz audio, taskset -c 0\n",
                "| system | encode wall s | decode wall s | encode max RSS MiB | decode max RSS MiB "
                "| real-time factor | file kbps |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ("This codec", "Opus"):
            if name in o:
                r = o[name]
                out.append(f"| {name} | {r['encode']['wall_s']:.1f} | {r['decode']['wall_s']:.1f} "
                           f"| {r['encode']['max_rss_mib']:.0f} | {r['decode']['max_rss_mib']:.0f} "
                           f"| {r['rtf']:.0f} | {r['file_kbps']:.2f} |")
        if "Opus" in o:
            out.append(f"\nReal-time factor codec / Opus: {o['This codec']['rtf'] / o['Opus']['rtf']:.3f}")
    out += ["\n## Start-up and memory (fresh processes, median of 3)\n",
            "| process | CPU s (user + sys) | wall s | peak RSS MiB |", "|---|---:|---:|---:|"]
    out += [f"| {k} | {v['cpu_s']:.2f} | {v['wall_s']:.2f} | {v['max_rss_mib']:.0f} |"
            for k, v in res["startup"].items()]
    out += ["\n## Algorithmic latency (output lag by cross-correlation; + "
            f"{s['frame_ms']:g} ms frame buffering)\n",
            "| system | envelope lag samples (ms) | envelope correlation | waveform lag samples "
            "| waveform correlation |", "|---|---:|---:|---:|---:|"]
    for name, r in res["latency"].items():
        (elag, ecorr), (wlag, wcorr) = r["envelope"], r["waveform"]
        out.append(f"| {name} | {elag} ({elag / SAMPLE_RATE * 1000:.2f}) | {ecorr:.2f} | {wlag} "
                   f"| {wcorr:.2f} |")
    out += ["\n## Targets (issue 11)\n", "| target | measured | met |", "|---|---:|---|"]
    out += [f"| {name} | {value} | {'yes' if ok else 'NO'} |" for name, value, ok in targets(res)]
    out += [f"\nNote: {n}" for n in res["notes"]]
    return "\n".join(out)


def targets(res: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target the run measured."""
    st, rows = res["startup"], []
    for label in ("codec --version", "codec --help"):
        rows.append((f"`{label}` under 0.3 s CPU", f"{st[label]['cpu_s']:.2f} s",
                     st[label]["cpu_s"] < 0.3))
    first = st["import, shipped model, one frame"]["cpu_s"]
    rows.append(("import + shipped model + one frame under 0.5 s CPU", f"{first:.2f} s", first < 0.5))
    rss = st["streaming process"]["max_rss_mib"]
    rows.append(("streaming process under 150 MB resident", f"{rss:.0f} MiB", rss * 2**20 < 150e6))
    s = res["streaming"]
    if "Lyra v2" in s:
        ratio = s["This codec (onnxruntime)"]["total"]["median_ms"] / s["Lyra v2"]["total"]["median_ms"]
        rows.append(("per-frame encode + decode no slower than Lyra v2", f"{ratio:.2f}x", ratio <= 1))
    if "offline" in res:
        rtf = res["offline"]["This codec"]["rtf"]
        rows.append((f"{res['offline']['audio_s'] / 3600:g} h file at 50x real time or more, "
                     "start-ups included", f"{rtf:.0f}x", rtf >= 50))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-offline", action="store_true", help="skip (b), the long-file runs")
    parser.add_argument("--hours", type=float, default=1.0, help="length of the offline file (default 1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="speech for (a) (default 30)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--candidate", type=Path, action="append", default=[], metavar="DIR",
                        help="also time this saved model's stream on the runtime (repeatable)")
    parser.add_argument("--kbps", type=float, default=KBPS,
                        help=f"bitrate of the streaming runs (default {KBPS}; Lyra v2 at its "
                             "nearest rate)")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(1)  # the eager reference; the runtime's sessions use one thread
    notes = []
    if not LyraPeer.is_available():
        notes.append(lyra_missing_note())
    opus = OpusPeer.is_available()
    if not opus and not args.skip_offline:
        notes.append("Opus skipped: opusenc/opusdec not installed (Debian package opus-tools)")
    if not shutil.which("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (Debian package time) for CPU time and memory")
    tools = [t for t in ("taskset",) if not shutil.which(t)]
    if tools and not args.skip_offline:
        notes.append(f"offline runs skipped: missing {', '.join(tools)} (util-linux)")
        args.skip_offline = True

    speech = load_speech(args.seconds)
    model = codec.load_model()
    candidates = {str(d): codec.load_model(d) for d in args.candidate}
    with torch.inference_mode():
        res = {"kbps": KBPS, "streaming": streaming(model, speech, candidates=candidates,
                                                     kbps=args.kbps)}
        res["latency"] = latency(speech)
    if not args.skip_offline:
        res["offline"] = offline(speech, args.hours, opus)
    res["startup"] = startup(speech)
    res["notes"] = notes
    print(report(res))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
