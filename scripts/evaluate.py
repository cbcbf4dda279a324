"""Rate-quality evaluation of this codec against peer codecs.

Runs this codec (``codec.compress`` / ``codec.decompress``) at each ``--bitrates`` value, Opus at
6/8/12 kbps when opus-tools is installed and, with ``--peers``, Lyra v2 at 3.2/6/9.2 kbps,
Codec 2 at 3.2 kbps and AMR-WB at 6.6/8.85/12.65 kbps, over a folder of audio files or a .tsv
manifest, then prints one markdown table of means over the files: WB-PESQ, STOI, SI-SDR, log-mel
distance and the output level minus the input level (RMS dB; its mean and its mean absolute
value). The true bitrate is the total compressed bits divided by the total duration (the codec's
whole compressed files; the peers' codec packets without container). Metrics are computed in a
pool of worker processes.

    python scripts/evaluate.py --limit 10 --peers --json out/eval.json --plot out/eval.png
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from collections import deque
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]

from codec.evaluation.metrics import missing_metrics_note, score
from codec.evaluation.peers import SAMPLE_RATE, evaluation_peers, fit_length
from codec.runtime.audio import list_audio_files

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "eval.tsv"
METRICS = ("pesq", "stoi", "si_sdr", "log_mel", "level_db")
MAX_PENDING = 16  # metric jobs in flight, to bound the memory held by queued audio


def load_audio(path: Path) -> np.ndarray:
    """Mono float32 audio at 16 kHz."""
    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wav = wav.mean(axis=1)
    if sr != SAMPLE_RATE:
        wav = torchaudio.functional.resample(torch.from_numpy(wav), sr, SAMPLE_RATE).numpy()
    return np.ascontiguousarray(wav)


class CodecSystem:
    """This codec at one bitrate, with the same roundtrip interface as the peers."""

    name = "This codec"

    def __init__(self, kbps: float):
        self.kbps = kbps
        self.last_payload_bytes = 0

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        import codec

        data = codec.compress(wav, SAMPLE_RATE, self.kbps)
        self.last_payload_bytes = len(data)
        out, sr = codec.decompress(data)
        assert sr == SAMPLE_RATE, sr
        return fit_length(out, len(wav))


def _init_worker() -> None:
    torch.set_num_threads(1)


def evaluate(files: list[Path], systems: list, workers: int) -> list[dict]:
    """Run every system on every file; per-system dicts with per-file scores, bits and seconds."""
    results = [{"system": s.name, "kbps": s.kbps, "bits": 0, "seconds": 0.0, "files": []}
               for s in systems]
    pending: deque = deque()

    def collect(job) -> None:
        index, name, result = job
        results[index]["files"].append({"file": name, **result.get().as_dict()})

    with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        bar = tqdm(total=len(files) * len(systems), unit="run", file=sys.stderr)
        for path in files:
            ref = load_audio(path)
            for index, system in enumerate(systems):
                bar.set_postfix_str(f"{system.name} {system.kbps:g}")
                deg = system.roundtrip(ref)
                results[index]["bits"] += 8 * system.last_payload_bytes
                results[index]["seconds"] += len(ref) / SAMPLE_RATE
                pending.append((index, path.name, pool.apply_async(score, (ref, deg))))
                while len(pending) > MAX_PENDING:
                    collect(pending.popleft())
                bar.update()
        while pending:
            collect(pending.popleft())
        bar.close()
    for r in results:
        r["true_kbps"] = r["bits"] / r["seconds"] / 1000 if r["seconds"] else None
        for m in METRICS:
            values = [f[m] for f in r["files"] if f[m] is not None]
            r[m] = float(np.mean(values)) if values else None
        r["abs_level_db"] = float(np.mean([abs(f["level_db"]) for f in r["files"]])) \
            if r["files"] else None
    return results


def markdown_table(results: list[dict]) -> str:
    def fmt(value, digits):
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = ["| system | nominal kbps | true kbps | WB-PESQ | STOI | SI-SDR (dB) | log-mel dist. "
             "| level dB (mean abs.) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        level = "n/a" if r["level_db"] is None else \
            f"{r['level_db']:+.2f} ({r['abs_level_db']:.2f})"
        lines.append(f"| {r['system']} | {r['kbps']:g} | {fmt(r['true_kbps'], 2)} | {fmt(r['pesq'], 2)}"
                     f" | {fmt(r['stoi'], 3)} | {fmt(r['si_sdr'], 2)} | {fmt(r['log_mel'], 3)} "
                     f"| {level} |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    """WB-PESQ and STOI against true kbps: one line (with markers) per system name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    names = list(dict.fromkeys(r["system"] for r in results))
    for ax, metric, label in zip(axes, ("pesq", "stoi"), ("WB-PESQ", "STOI")):
        for name in names:
            rows = sorted((r for r in results if r["system"] == name and r[metric] is not None),
                          key=lambda r: r["true_kbps"])
            if not rows:
                continue
            ours = name == CodecSystem.name
            ax.plot([r["true_kbps"] for r in rows], [r[metric] for r in rows],
                    marker="o" if ours else "s", linestyle="-" if ours else "--",
                    linewidth=2.5 if ours else 1, label=name)
        ax.set_xlabel("bitrate (kbps)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of audio files or .tsv manifest (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N files")
    parser.add_argument("--bitrates", type=float, nargs="+", default=[1.5, 3, 6, 9],
                        help="bitrates of this codec in kbps (default: %(default)s)")
    parser.add_argument("--peers", action="store_true", help="also run Lyra v2, Codec 2 and AMR-WB")
    parser.add_argument("--no-codec", action="store_true", help="run the peers only")
    parser.add_argument("--workers", type=int, default=2, help="metric processes (default: 2)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--plot", type=Path, help="draw the rate-quality plot to this PNG")
    args = parser.parse_args(argv)

    if not args.data.exists():
        parser.error(f"no data at {args.data}")
    files = list_audio_files(args.data)[: args.limit]
    if not files:
        parser.error(f"no audio files in {args.data}")
    torch.set_num_threads(1)

    systems = [] if args.no_codec else [CodecSystem(k) for k in args.bitrates]
    peers, notes = evaluation_peers(lyra=args.peers, codec2=args.peers, amrwb=args.peers)
    notes = [n for n in (missing_metrics_note(),) if n] + notes
    systems += peers
    results = evaluate(files, systems, args.workers)

    seconds = results[0]["seconds"] if results else 0.0
    print(f"{len(files)} files, {seconds / 60:.1f} min, from {args.data}\n")
    print(markdown_table(results))
    for note in notes:
        print(f"\nNote: {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {"data": str(args.data), "files": len(files), "seconds": seconds, "notes": notes}
        args.json.write_text(json.dumps({**meta, "results": results}, indent=1))
    if args.plot:
        try:
            plot(results, args.plot)
        except ImportError:
            print("\nNote: no plot: matplotlib is not installed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
