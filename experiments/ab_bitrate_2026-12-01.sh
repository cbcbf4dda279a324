#!/usr/bin/env bash
# Fourth session of 2026-12-01: the speed-shaped spectral model (width 256, 2 encoder / 3 decoder
# blocks, 8-bit layers; runs/spec-e2d3i8 of experiments/ab_depth_2026-12-01.sh, its best held-out
# model copied to runs/spec-e2d3i8-start) trained on as two arms of an A/B at equal CPU time,
# one thread each, fresh optimiser and a short warm-up:
#   u: quantizer dropout drawing the four bitrates alike (the recipe so far);
#   d: --bitrate-decay 0.7 (1.5 / 3 / 6 / 9 kbps drawn 39 / 27 / 19 / 13 % of the time), for
#      the 1.5 kbps gap to cpu4: stopped at 47.8 CPU-minutes, behind u
#      (docs/training-record/2026-12-01.md).
# Usage: [THREADS=n] experiments/ab_bitrate_2026-12-01.sh u|d. Re-running an arm resumes it (u was
# resumed at step 3,600 with THREADS=2 once d had stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    u) EXTRA=() ;;
    d) EXTRA=(--bitrate-decay 0.7) ;;
    *) echo "usage: $0 u|d" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none --run-dir "runs/spec-i8$1" \
    --init-from runs/spec-e2d3i8-start --threads "${THREADS:-1}" --cpu-minutes 85 --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    --adv-weight 0.25 --feat-weight 0.5 --disc cheap --adv-start 0 "${EXTRA[@]}" \
    > "runs/spec-i8$1.log" 2>&1 &
