#!/usr/bin/env bash
# The bake-off of docs/training-record/2026-12-01.md (2026-12-01): three spectral recipes,
# 60 CPU-minutes each, from scratch, one thread each, run side by side on a 2-core machine
# (process CPU time is what each arm is charged, so they compare at equal CPU whatever the load).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
common=(--threads 1 --cpu-minutes 60 --steps 100000 --eval-every 400 --valid-items 24
        --recon-loss compressed --cmag-weight 1 --cplx-weight 1 --ae-warmup 0.15)
stft=(--model encoder=spectral decoder=spectral hop_size=320 transform=stft)
mdct=(--model encoder=spectral decoder=spectral hop_size=320 transform=mdct)
mkdir -p runs
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/bake-stft "${stft[@]}" "${common[@]}" \
    > runs/bake-stft.log 2>&1 &
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/bake-stft-gan "${stft[@]}" "${common[@]}" \
    --adv-weight 0.25 --feat-weight 0.5 --disc cheap --adv-start 200 > runs/bake-stft-gan.log 2>&1 &
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir runs/bake-mdct "${mdct[@]}" "${common[@]}" \
    --coef-weight 1 > runs/bake-mdct.log 2>&1 &
wait
