#!/usr/bin/env bash
# First session of 2026-12-02: spec23erb (checkpoints/spec23erb, at commit 5931dcc; replaced by
# c's best, checkpoints/spec23erb2, itself at commit a151395 now) trained on as the arms of an
# A/B at equal CPU time, one thread each, fresh optimiser and a short warm-up, for the 1.5 kbps
# STOI gap to cpu4:
#   c: the ERB-weighted compressed spectra as before (1 / ERB(f)): the control, and plain
#      continued training;
#   p: 1 / ERB(f) ** 1.5, tilting the two MSE terms further towards the low bands;
#   d: c plus the depth bias (--model depth_bias=true: a learnt decoder-input vector per number
#      of codebooks received), started 14 minutes later with an 80 CPU-minute schedule;
#   a: c with the adversarial terms left off the 1.5 kbps items (--adv-above-kbps 1.5), started
#      on d's core an hour later with a 50 CPU-minute schedule.
# Usage: experiments/ab_erb_power_2026-12-02.sh c|p|d|a. Results in
# docs/training-record/2026-12-02.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    c) RUN=erbc; POWER=1.0; BUDGET=95; EXTRA=() ;;
    p) RUN=erbp15; POWER=1.5; BUDGET=95; EXTRA=() ;;
    d) RUN=erbd; POWER=1.0; BUDGET=80; EXTRA=(--model depth_bias=true) ;;
    a) RUN=erba; POWER=1.0; BUDGET=50; EXTRA=(--adv-above-kbps 1.5) ;;
    *) echo "usage: $0 c|p|d|a" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none --run-dir "runs/$RUN" \
    --init-from checkpoints/spec23erb "${EXTRA[@]}" --threads 1 --cpu-minutes "$BUDGET" \
    --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb --cspec-erb-power "$POWER" \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
    --adv-start 0 --ema 0.999 > "runs/$RUN.log" 2>&1 &
