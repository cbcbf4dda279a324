#!/usr/bin/env bash
# Run spec1: the bake-off's winner (runs/bake-stft/best) trained on, fresh optimiser, both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/spec1 --init-from runs/bake-stft/best \
    --threads 2 --cpu-minutes 50 --steps 100000 --eval-every 400 --valid-items 24 \
    --lr 5e-4 --warmup-steps 100 --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    > runs/spec1.log 2>&1 &
