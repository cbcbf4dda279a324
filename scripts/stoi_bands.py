#!/usr/bin/env python3
"""STOI per one-third-octave band: where models lose intelligibility, on the held-out utterances
of ``compare_models.py`` (the same files).

pystoi's own steps (resampling to 10 kHz, silent frames removed, 384 ms segments, the clipped
and normalised band envelopes), with the correlation kept per band instead of averaged; the
mean over bands is STOI. Diagnosis only, never a loss.

    python scripts/stoi_bands.py --kbps 1.5 codec/weights checkpoints/spec23L13

``--unquantized`` decodes the encoder's latents as they are (no codes): what the quantizer costs,
against what the encoder and decoder lose by themselves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_models import ROOT, heldout_files  # noqa: E402


def band_correlations(ref: np.ndarray, deg: np.ndarray, rate: int) -> np.ndarray:
    """Per band, the mean correlation of the clipped envelopes over segments (pystoi.stoi)."""
    from pystoi import utils
    from pystoi.stoi import BETA, DYN_RANGE, FS, N, N_FRAME, NFFT, OBM

    x, y = utils.resample_oct(ref, FS, rate), utils.resample_oct(deg, FS, rate)
    x, y = utils.remove_silent_frames(x, y, DYN_RANGE, N_FRAME, N_FRAME // 2)
    xb, yb = (np.sqrt(OBM @ np.abs(utils.stft(s, N_FRAME, NFFT, overlap=2).T) ** 2) for s in (x, y))
    xs = np.stack([xb[:, m - N:m] for m in range(N, xb.shape[1] + 1)])  # [segments, bands, N]
    ys = np.stack([yb[:, m - N:m] for m in range(N, yb.shape[1] + 1)])
    ys = ys * np.linalg.norm(xs, axis=2, keepdims=True) / (np.linalg.norm(ys, axis=2, keepdims=True)
                                                           + utils.EPS)
    ys = np.minimum(ys, xs * (1 + 10 ** (-BETA / 20)))
    xs, ys = xs - xs.mean(2, keepdims=True), ys - ys.mean(2, keepdims=True)
    xs /= np.linalg.norm(xs, axis=2, keepdims=True) + utils.EPS
    ys /= np.linalg.norm(ys, axis=2, keepdims=True) + utils.EPS
    return (xs * ys).sum(2).mean(0)


def diagnosis_arguments(doc: str) -> argparse.ArgumentParser:
    """The command line of the diagnosis scripts: models, a bitrate or none, held-out files."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="saved model directories, or DIR:field=value,...")
    p.add_argument("--kbps", type=float, default=6.0)
    p.add_argument("--unquantized", action="store_true",
                   help="decode the latents without the quantizer (--kbps is then ignored)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train.tsv")
    p.add_argument("--holdout", type=float, default=0.05)
    p.add_argument("--files", type=int, default=24)
    return p


def reconstruct(model, wav: np.ndarray, kbps: float, unquantized: bool = False) -> np.ndarray:
    """``model``'s output for ``wav`` at ``kbps``, aligned with it; ``unquantized``: decoded from
    the encoder's latents as they are, the last ``delay`` samples missing."""
    x = torch.from_numpy(wav)
    with torch.no_grad():
        if unquantized:
            return model(x[None, None], quantize=False)[0][0, 0].numpy()
        codes = model.encode(x, model.config.codebooks_for(kbps))
        return model.decode(codes, len(wav))[0, 0].numpy()


def main(argv: list[str] | None = None) -> int:
    from pystoi.stoi import CF

    from codec.train.transplant import load_variant

    args = diagnosis_arguments(__doc__).parse_args(argv)
    torch.set_num_threads(1)
    files = heldout_files(args.data, args.holdout, args.files)
    models = [load_variant(spec) for spec in args.models]
    rows = []  # [file][model] -> [bands]
    for f in files:
        wav, rate = sf.read(str(f), dtype="float32")
        row = []
        for m in models:
            if rate != m.config.sample_rate:
                raise SystemExit(f"{f}: {rate} Hz, the model codes {m.config.sample_rate}")
            out = reconstruct(m, wav, args.kbps, args.unquantized)
            ref = wav[: len(out)].astype(np.float64)
            row.append(band_correlations(ref, out.astype(np.float64), rate))
        rows.append(row)
    bands = np.array(rows).mean(0)  # [models, bands]
    what = "unquantized latents" if args.unquantized else f"{args.kbps:g} kbps"
    print(f"{len(files)} held-out utterances, {what}\n")
    print("| band Hz | " + " | ".join(args.models) + " |")
    print("|---:|" + "---:|" * len(models))
    for b, centre in enumerate(CF):
        print(f"| {centre:.0f} | " + " | ".join(f"{v:.3f}" for v in bands[:, b]) + " |")
    print("| mean (STOI) | " + " | ".join(f"{v:.3f}" for v in bands.mean(1)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
