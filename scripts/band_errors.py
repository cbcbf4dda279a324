#!/usr/bin/env python3
"""What a model's output gets wrong per frequency band, seen through long (64 ms) frames that
resolve the harmonics of a voice: level, complex SNR (waveform and phase), magnitude SNR (the
spectrum alone) and the correlation of the band's log-energy over time. Diagnosis only, never a
loss; the held-out utterances of ``compare_models.py``.

    python scripts/band_errors.py --kbps 1.5 codec/weights checkpoints/spec23L13
    python scripts/band_errors.py --unquantized codec/weights checkpoints/spec23L13
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_models import heldout_files  # noqa: E402
from stoi_bands import diagnosis_arguments, reconstruct  # noqa: E402

BANDS = ((100, 350), (350, 1000), (1000, 4000), (4000, 8000))  # Hz
FFT, HOP = 1024, 256  # 64 ms frames at 16 kHz


def spectrum(x: np.ndarray) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, FFT)[::HOP] * np.hanning(FFT)
    return np.fft.rfft(frames, axis=-1)


def band_errors(ref: np.ndarray, out: np.ndarray, rate: int) -> np.ndarray:
    """``[bands, 4]``: level dB, complex SNR dB, magnitude SNR dB, log-energy correlation, over
    the frames within 40 dB of the loudest."""
    x, y = spectrum(ref.astype(np.float64)), spectrum(out.astype(np.float64))
    energy = (np.abs(x) ** 2).sum(1)
    active = energy > 1e-4 * energy.max()
    x, y = x[active], y[active]
    freq = np.fft.rfftfreq(FFT, 1 / rate)
    rows = []
    for lo, hi in BANDS:
        xb, yb = x[:, (freq >= lo) & (freq < hi)], y[:, (freq >= lo) & (freq < hi)]
        px = (np.abs(xb) ** 2).sum()
        level = 10 * np.log10((np.abs(yb) ** 2).sum() / px)
        complex_snr = 10 * np.log10(px / ((np.abs(xb - yb) ** 2).sum() + 1e-20))
        magnitude_snr = 10 * np.log10(px / (((np.abs(xb) - np.abs(yb)) ** 2).sum() + 1e-20))
        ex, ey = (np.log((np.abs(b) ** 2).sum(1) + 1e-9) for b in (xb, yb))
        rows.append((level, complex_snr, magnitude_snr, np.corrcoef(ex, ey)[0, 1]))
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    from codec.train.transplant import load_variant

    args = diagnosis_arguments(__doc__).parse_args(argv)
    torch.set_num_threads(1)
    files = heldout_files(args.data, args.holdout, args.files)
    models = [load_variant(spec) for spec in args.models]
    rows = []  # [file][model] -> [bands, 4]
    for f in files:
        wav, rate = sf.read(str(f), dtype="float32")
        row = []
        for m in models:
            out = reconstruct(m, wav, args.kbps, args.unquantized)
            row.append(band_errors(wav[: len(out)], out, rate))
        rows.append(row)
    means = np.array(rows).mean(0)  # [models, bands, 4]
    what = "unquantized latents" if args.unquantized else f"{args.kbps:g} kbps"
    print(f"{len(files)} held-out utterances, {what}; per band: level dB / complex SNR dB / "
          f"magnitude SNR dB / log-energy correlation\n")
    print("| model | " + " | ".join(f"{lo}-{hi} Hz" for lo, hi in BANDS) + " |")
    print("|---|" + "---|" * len(BANDS))
    for spec, m in zip(args.models, means):
        print(f"| {spec} | " + " | ".join(f"{b[0]:+.2f} / {b[1]:.1f} / {b[2]:.1f} / {b[3]:.3f}"
                                         for b in m) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
