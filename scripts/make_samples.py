#!/usr/bin/env python3
"""Decode every clip in samples/ at each supported bitrate with the shipped model.

Writes samples/NAME.KBPSkbps.wav next to each NAME.flac (overwriting earlier versions).
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

import codec
from codec.evaluation.metrics import log_mel_distance

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main() -> None:
    model = codec.load_model()
    for clip in sorted(SAMPLES.glob("*.flac")):
        wav, rate = sf.read(clip, dtype="float32")
        for kbps in model.config.bitrates:
            data = codec.compress(wav, rate, kbps, model=model)
            out, out_rate = codec.decompress(data, model=model)
            dest = SAMPLES / f"{clip.stem}.{kbps:g}kbps.wav"
            sf.write(dest, out, out_rate, subtype="PCM_16")
            print(f"{dest.name}: {len(data)} bytes, log-mel distance "
                  f"{log_mel_distance(wav, out):.3f}")


if __name__ == "__main__":
    main()
