#!/usr/bin/env bash
# The speed-shaped spectral model (width 192, 3 + 5 blocks: per-frame ONNX cost about the shipped
# SEANet's, where the bake-off's 256-wide 4 + 6 costs about 1.5x), the bake-off's plain STFT
# recipe, started beside the bake-off on one thread. Its budget (240 CPU-min) spans sessions:
# the cosine schedule runs over it, and the autoencoder warm-up is its first 9 CPU-minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="${THREADS:-1}"
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/stft-small --threads "${THREADS:-1}" \
    --model encoder=spectral decoder=spectral hop_size=320 transform=stft width=192 \
            encoder_blocks=3 decoder_blocks=5 \
    --cpu-minutes 240 --steps 100000 --eval-every 400 --valid-items 24 \
    --recon-loss compressed --cmag-weight 1 --cplx-weight 1 --ae-warmup 0.0375 \
    > runs/stft-small.log 2>&1 &
