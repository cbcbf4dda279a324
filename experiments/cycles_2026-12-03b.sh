#!/usr/bin/env bash
# Repeated warm restarts (the second session of 2026-12-03). The first session's finding: a fresh
# optimiser and a short 30 CPU-minute cosine from the best weights gained more in 16 CPU-minutes
# than 74 minutes of the long run. This script chains such cycles: cycle k starts from cycle
# k-1's best (crop 6 kbps WB-PESQ, raw or weight average), one thread, the recipe of the
# 2026-12-02 sessions. Results in docs/training-record/2026-12-03.md.
# The session ran `r30 checkpoints/spec23L3 5 30` and `r15 checkpoints/spec23L3 10 15` (both
# stopped early for the discriminator A/B), then `r15b runs/r15-2/best 3 15` (two cycles run).
# spec23L3 is at commit 0376f3f since spec23L4 replaced it (spec23L5 is now codec/weights,
# spec23L6 the checkpoint). The third session of the day ran the batch-size arms with it
# (`--batch-size 32` / `64`, docs/training-record/2026-12-03.md).
# Usage: experiments/cycles_2026-12-03b.sh NAME INIT CYCLES CPU-MINUTES [train.py options]
# (options given last override the recipe's, e.g. --lr 1e-4)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
NAME=$1; INIT=$2; CYCLES=$3; BUDGET=$4; shift 4
for k in $(seq 1 "$CYCLES"); do
    RUN="runs/$NAME-$k"
    .venv/bin/python scripts/train.py --recipe none --run-dir "$RUN" --init-from "$INIT" \
        --threads 1 --cpu-minutes "$BUDGET" --steps 100000 \
        --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
        --recon-loss compressed --cspec-weighting erb \
        --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
        --adv-start 0 --ema 0.999 "$@" > "$RUN.log" 2>&1
    INIT="$RUN/best"
done
