#!/usr/bin/env python3
"""Measure how much quieter a model decodes than its input, per bitrate, and save a copy of the
model whose decoder makes it up (``CodecConfig.output_gain_db``).

The losses prefer a slightly quiet output when the quantized latent is uncertain, more so with
fewer codebooks. The make-up gain at each bitrate is the median, over held-out utterances, of
input level minus output level (RMS, dB). It is measured on held-out speakers' utterances that
``scripts/compare_models.py`` does not score (its first ``--skip`` files), so that harness stays
an independent check; ``eval/`` is never used.

    python scripts/calibrate_level.py runs/NAME/best --out runs/NAME/level
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from codec.evaluation.metrics import level_difference_db
from codec.model import load_model, save_model
from codec.runtime.store import RECIPE_FILE, read_meta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_models import ROOT, heldout_files, read_clip  # noqa: E402

# config.json entries that ``save_model`` writes itself
_WRITTEN = ("format_version", "config", "weights_sha256", "model_id", "graphs", "delay")


@torch.no_grad()
def level_errors(model, clips: list[np.ndarray], num_codebooks: int) -> np.ndarray:
    """Output level minus input level (dB) of each clip, decoded with ``num_codebooks``."""
    errors = []
    for wav in clips:
        out = model.decode(model.encode(torch.from_numpy(wav), num_codebooks), len(wav))
        errors.append(level_difference_db(wav, out[0, 0].numpy()))
    return np.array(errors)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="a saved model directory")
    p.add_argument("--out", type=Path, required=True, help="where the calibrated copy goes")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train.tsv")
    p.add_argument("--holdout", type=float, default=0.05)
    p.add_argument("--skip", type=int, default=24,
                   help="held-out files left to compare_models.py (its --files)")
    p.add_argument("--files", type=int, default=48)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    files = heldout_files(args.data, args.holdout, args.skip + args.files)[args.skip:]
    if not files:
        p.error(f"no held-out utterances of 2-10 s beyond the first {args.skip} in {args.data}")
    model = load_model(args.model)
    model.config = replace(model.config, output_gain_db=())  # measure the weights alone
    clips = [read_clip(f, model.config.sample_rate) for f in files]
    print(f"{len(files)} held-out utterances ({sum(map(len, clips)) / model.config.sample_rate:.0f}"
          f" s), after the first {args.skip} of {args.data}\n")
    print("| kbps | level dB: median | mean | mean abs. | make-up gain dB |")
    print("|---:|---:|---:|---:|---:|")
    gains, measured = [], {}
    for kbps in model.config.bitrates:
        e = level_errors(model, clips, model.config.codebooks_for(kbps))
        gain = round(-float(np.median(e)), 2)
        gains.append(gain)
        measured[f"{kbps:g}"] = {"median_db": round(float(np.median(e)), 3),
                                 "mean_db": round(float(e.mean()), 3),
                                 "mean_abs_db": round(float(np.abs(e).mean()), 3)}
        print(f"| {kbps:g} | {np.median(e):+.2f} | {e.mean():+.2f} | {np.abs(e).mean():.2f} | "
              f"{gain:+.2f} |", flush=True)
    meta = read_meta(args.model)
    extra = {k: v for k, v in meta.items() if k not in _WRITTEN}
    extra["level_calibration"] = {"files": len(files), "skipped": args.skip,
                                  "holdout": args.holdout, "before": measured}
    model.config = replace(model.config, output_gain_db=tuple(gains))
    model_id = save_model(model, args.out, extra, graphs=bool(meta.get("graphs")))
    if (args.model / RECIPE_FILE).is_file():  # the copy was trained as the model was
        shutil.copyfile(args.model / RECIPE_FILE, args.out / RECIPE_FILE)
    else:
        (args.out / RECIPE_FILE).unlink(missing_ok=True)
    print(f"\nsaved {args.out} (model id {model_id.hex()}): output_gain_db "
          f"{json.dumps(list(gains))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
