#!/usr/bin/env bash
# Run spec32L: the spec32b recipe plus a level term (--level-weight 1, losses.level_loss), from
# the same start (checkpoints/spec32), one thread beside spec32b: an equal-CPU A/B of the term.
# Re-running it resumes runs/spec32L/checkpoint.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
nohup .venv/bin/python scripts/train.py --run-dir runs/spec32L --init-from checkpoints/spec32 \
    --threads 1 --cpu-minutes 130 --steps 100000 --eval-every 400 --valid-items 24 \
    --lr 5e-4 --warmup-steps 100 --recon-loss compressed --cmag-weight 1 --cplx-weight 1 --level-weight 1 \
    > runs/spec32L.log 2>&1 &
