#!/usr/bin/env bash
# Run spec32G: the spec32b recipe plus the cheap spectral discriminator (as bake-stft-gan), from
# the same start (checkpoints/spec32), one thread beside spec32b: an equal-CPU A/B of the discriminator.
# Re-running it resumes runs/spec32G/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
nohup .venv/bin/python scripts/train.py --run-dir runs/spec32G --init-from checkpoints/spec32 \
    --threads 1 --cpu-minutes 130 --steps 100000 --eval-every 400 --valid-items 24 \
    --lr 5e-4 --warmup-steps 100 --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    --adv-weight 0.25 --feat-weight 0.5 --disc cheap --adv-start 0 \
    > runs/spec32G.log 2>&1 &
