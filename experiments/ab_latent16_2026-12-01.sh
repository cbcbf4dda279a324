#!/usr/bin/env bash
# A/B at equal CPU time, one thread each, from the same start (spec2's checkpoint at step 5600, 98 + 68 CPU-minutes
# in all, exported to runs/ab-start): spec2 trained on as is, against spec16, the same model with a 16-dim
# latent searched in full (dim = code_dim = 16; the 64-dim latent kept 45% of its variance
# after 3 codebooks and 9% after 12, SEANet's 13% and 1.6%). The bottleneck projections and
# the codebooks of spec16 start afresh (train/transplant.py keeps every weight that fits).
# spec2 resumes its checkpoint; its schedule is shortened to the CPU it can still get.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
COMMON=(--steps 100000 --eval-every 400 --valid-items 24 --lr 5e-4 --warmup-steps 100
        --recon-loss compressed --cmag-weight 1 --cplx-weight 1 --threads 1)
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/spec2 --init-from checkpoints/spec1 \
    --cpu-minutes 140 "${COMMON[@]}" >> runs/spec2.log 2>&1 &
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/spec16 --init-from runs/ab-start \
    --model dim=16 code_dim=16 --cpu-minutes 75 "${COMMON[@]}" > runs/spec16.log 2>&1 &

# Second arm, started after spec16's first 21 CPU-minutes (16 dims: its residual is quantized
# away by 12 codebooks, and 3 to 9 kbps all sat at one log-mel, 0.287): 32 dims, searched in full.
# nohup .venv/bin/python scripts/train.py --recipe none \
#     --run-dir runs/spec32 --init-from runs/ab-start \
#     --model dim=32 code_dim=32 --cpu-minutes 60 "${COMMON[@]}" > runs/spec32.log 2>&1 &
