#!/usr/bin/env python3
"""Compare saved models on whole utterances of held-out training speakers: the model-selection
harness (``eval/`` never chooses).

The held-out speakers are the ones ``scripts/train.py`` holds out (same manifest, same split).
From them, ``--files`` utterances of 2-10 s, one per speaker first, are scored as they are and as
a telephone-band copy (8 kHz, 300-3400 Hz, back to 16 kHz), at every bitrate of each model:
WB-PESQ, STOI, SI-SDR, log-mel distance and the output level minus the input level (RMS, dB);
and the same for the latent decoded unquantized (rows "latent"; ``--no-latent`` leaves them out,
``--latent-only`` keeps only them, for models trained with the quantizer off).
Each model runs offline (``Codec.encode`` / ``Codec.decode``, aligned and as long as the input).

    python scripts/compare_models.py codec/weights runs/bake-stft/best --json out/heldout.json
    python scripts/compare_models.py codec/weights checkpoints/spec23L13:search_beams=1,1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torchaudio import functional as AF

from codec.evaluation.metrics import score
from codec.train.data import list_utterances, round_robin, split_by_speaker
from codec.train.transplant import load_variant

ROOT = Path(__file__).resolve().parents[1]


def telephone_band(wav: np.ndarray, rate: int) -> np.ndarray:
    """8 kHz, 300-3400 Hz (two biquads each side), then back to ``rate``."""
    x = AF.resample(torch.from_numpy(wav), rate, 8000)
    for _ in range(2):
        x = AF.lowpass_biquad(AF.highpass_biquad(x, 8000, 300.0), 8000, 3400.0)
    return AF.resample(x, 8000, rate).numpy().astype(np.float32)


def heldout_files(manifest: Path, holdout: float, count: int) -> list[Path]:
    """``count`` held-out utterances of 2-10 s, round-robin over speakers (sorted, stable)."""
    _, held = split_by_speaker(list_utterances(manifest), holdout)
    fit = [u for u in held if 2.0 <= sf.info(str(u.path)).duration <= 10.0]
    return [u.path for u in round_robin(fit)[:count]]


def read_clip(path: Path, rate: int) -> np.ndarray:
    """A file as mono float32 at ``rate``."""
    wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wav = wav.mean(1)
    return AF.resample(torch.from_numpy(wav), sr, rate).numpy() if sr != rate else wav


@torch.no_grad()
def run_model(model, clips: dict[str, list[np.ndarray]], rate: int, latent: bool = True,
              bitrates: bool = True) -> list[dict]:
    """Scores at every bitrate (with ``bitrates``) and, with ``latent``, of the latent decoded
    unquantized (kbps "latent": what the encoder and decoder can do without the quantizer, the
    ceiling)."""
    def coded(k):
        return lambda x: model.decode(model.encode(x, k), x.shape[-1])

    def unquantized(x):
        return model.decode_latent(model.latent(x[None, None]))[..., : x.shape[-1]]

    settings = [(kbps, coded(model.config.codebooks_for(kbps)))
                for kbps in (model.config.bitrates if bitrates else ())]
    settings += [("latent", unquantized)] if latent else []
    rows = []
    for kbps, codec in settings:
        for band, wavs in clips.items():
            scores = []
            for wav in wavs:
                out = codec(torch.from_numpy(wav))[0, 0].numpy()
                scores.append(score(wav, out, rate).as_dict())
            rows.append({"kbps": kbps, "band": band, **{
                m: float(np.mean([s[m] for s in scores])) for m in scores[0]},
                "abs_level_db": float(np.mean([abs(s["level_db"]) for s in scores]))})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="saved model directories, or DIR:field=value,... "
                   "(that config, the folder's weights where they fit; train/transplant.py)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train.tsv")
    p.add_argument("--holdout", type=float, default=0.05)
    p.add_argument("--files", type=int, default=24)
    p.add_argument("--json", type=Path)
    rows = p.add_mutually_exclusive_group()
    rows.add_argument("--no-latent", action="store_true",
                      help="leave out the rows of the latent decoded unquantized")
    rows.add_argument("--latent-only", action="store_true",
                      help="only those rows (models trained with the quantizer off)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    files = heldout_files(args.data, args.holdout, args.files)
    if not files:
        p.error(f"no held-out utterances of 2-10 s in {args.data}")
    models = {spec: load_variant(spec) for spec in args.models}
    rate = next(iter(models.values())).config.sample_rate
    wide = [read_clip(f, rate) for f in files]
    clips = {"wide": wide, "phone": [telephone_band(w, rate) for w in wide]}
    print(f"{len(files)} held-out utterances ({sum(map(len, wide)) / rate:.0f} s) from "
          f"{len({f.parent for f in files})} folders of {args.data}\n")
    print("| model | kbps | band | WB-PESQ | STOI | SI-SDR dB | log-mel | level dB | abs level dB |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    results = {}
    for spec, model in models.items():
        name = f"{spec} ({model.model_id.hex()[:8]})"
        results[name] = run_model(model, clips, rate, not args.no_latent,
                                  not args.latent_only)
        for r in results[name]:
            kbps = r["kbps"] if isinstance(r["kbps"], str) else f"{r['kbps']:g}"
            print(f"| {name} | {kbps} | {r['band']} | {r['pesq']:.3f} | {r['stoi']:.3f} | "
                  f"{r['si_sdr']:.2f} | {r['log_mel']:.3f} | {r['level_db']:+.2f} | "
                  f"{r['abs_level_db']:.2f} |", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"files": [str(f) for f in files], "results": results},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
