#!/usr/bin/env python3
"""Held-out curves of training runs against CPU time (or steps): a PNG, and a markdown table at
chosen CPU-minutes (the last validation at or before each). Runs with the quantizer off
(``--ae-warmup 1``) are drawn from their scores of the latent decoded unquantized.

    python scripts/plot_curves.py runs/bake-stft runs/bake-mdct --at 15 30 45 60 --png docs/x.png
    python scripts/plot_curves.py runs/old runs/new --x step --png docs/y.png  # equal crops
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

PANELS = (("valid/pesq@6", "WB-PESQ, 6 kbps"), ("valid/pesq@3", "WB-PESQ, 3 kbps"),
          ("valid/log_mel@6", "log-mel distance, 6 kbps"), ("valid/si_sdr@6", "SI-SDR dB, 6 kbps"))
LATENT_PANELS = (("valid/pesq@latent", "WB-PESQ, latent unquantized"),
                 ("valid/stoi@latent", "STOI, latent unquantized"),
                 ("valid/log_mel@latent", "log-mel distance, latent"),
                 ("valid/si_sdr@latent", "SI-SDR dB, latent"))


def read(run: Path) -> list[dict[str, float]]:
    with open(run / "valid.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(f)]


def at(rows: list[dict], minutes: float) -> dict | None:
    before = [r for r in rows if r["time/cpu_min"] <= minutes + 1e-9]
    return before[-1] if before else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--at", type=float, nargs="+", default=[15, 30, 45, 60])
    p.add_argument("--png", type=Path)
    p.add_argument("--x", choices=("cpu", "step"), default="cpu",
                   help="the curves' axis: CPU-minutes or training steps")
    p.add_argument("--plot-from", type=float, default=0.0, metavar="MIN",
                   help="plot from this CPU-minute on (hide an autoencoder warm-up, whose "
                        "validation runs an untrained quantizer)")
    args = p.parse_args(argv)
    data = {run.name: read(run) for run in args.runs if (run / "valid.csv").exists()}
    latent = all("valid/pesq@latent" in rows[0] for rows in data.values() if rows)
    if latent:
        print("| run | CPU-min | step | WB-PESQ | STOI | log-mel | SI-SDR dB |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    else:
        print("| run | CPU-min | step | WB-PESQ 3 / 6 | log-mel 3 / 6 | SI-SDR 6 dB | corr 6 |")
        print("|---|---:|---:|---|---|---:|---:|")
    for name, rows in data.items():
        for minutes in args.at:
            r = at(rows, minutes)
            if r is None or (rows and rows[-1]["time/cpu_min"] < minutes - 2):
                continue  # not reached
            head = f"| {name} | {r['time/cpu_min']:.1f} | {r['step']:.0f} | "
            if latent:
                print(head + f"{r['valid/pesq@latent']:.3f} | {r['valid/stoi@latent']:.3f} | "
                      f"{r['valid/log_mel@latent']:.3f} | {r['valid/si_sdr@latent']:.1f} |")
            else:
                print(head + f"{r['valid/pesq@3']:.2f} / {r['valid/pesq@6']:.2f} | "
                      f"{r['valid/log_mel@3']:.3f} / {r['valid/log_mel@6']:.3f} | "
                      f"{r['valid/si_sdr@6']:.1f} | {r['valid/corr@6']:.3f} |")
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        panels = LATENT_PANELS if latent else PANELS
        x = "time/cpu_min" if args.x == "cpu" else "step"
        fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
        for ax, (key, label) in zip(axes, panels):
            for name, rows in data.items():
                rows = [r for r in rows if r["time/cpu_min"] >= args.plot_from]
                ax.plot([r[x] for r in rows], [r.get(key) for r in rows], marker=".", label=name)
            ax.set_xlabel("CPU-minutes" if args.x == "cpu" else "steps")
            ax.set_title(label, fontsize=10)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main())
