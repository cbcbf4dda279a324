#!/usr/bin/env bash
# Run spec2: spec1 (checkpoints/spec1, 98 CPU-minutes in all) trained on with the same recipe,
# fresh optimiser and a short warm-up, both cores. Re-running it resumes runs/spec2/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/spec2 --init-from checkpoints/spec1 \
    --threads 2 --cpu-minutes 200 --steps 100000 --eval-every 400 --valid-items 24 \
    --lr 5e-4 --warmup-steps 100 --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    > runs/spec2.log 2>&1 &
