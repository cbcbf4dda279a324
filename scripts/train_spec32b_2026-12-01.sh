#!/usr/bin/env bash
# Run spec32b: spec32 (checkpoints/spec32: spec2 at 166 CPU-minutes, then 60 CPU-minutes with a
# 32-dim latent searched in full) trained on with the same recipe, fresh optimiser, short warm-up,
# one thread (a second arm runs beside it). Re-running it resumes runs/spec32b/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
nohup .venv/bin/python scripts/train.py --run-dir runs/spec32b --init-from checkpoints/spec32 \
    --threads 1 --cpu-minutes 130 --steps 100000 --eval-every 400 --valid-items 24 \
    --lr 5e-4 --warmup-steps 100 --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    > runs/spec32b.log 2>&1 &
