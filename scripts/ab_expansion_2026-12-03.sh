#!/usr/bin/env bash
# Session of 2026-12-03: is the spectral model capacity-bound? spec23L's training and held-out
# losses were flat together (a plateau, not overfitting), and cutting blocks cost far more than
# 8-bit rounding. A wider hidden layer in every ConvNeXt block adds capacity at the cost of
# weight bytes only (no new graph nodes), the cheap direction on this runtime
# (scripts/graph_times.py: expansion 4 took 1.12x spec23L's graphs per frame, 3 1.07x).
# Two arms from checkpoints/spec23L (at commit feb8f51 since c's best, checkpoints/spec23L2,
# replaced it) at equal CPU time, one thread each, fresh optimiser and a
# short warm-up, the recipe of the 2026-12-02 sessions:
#   c:  spec23L as it is (the control, and plain continued training);
#   x4: spec23L grown to expansion 4 (transplant: the new hidden units' output weights start at
#       zero, so the grown model starts computing exactly what spec23L does).
# Usage: [INIT=DIR] scripts/ab_expansion_2026-12-03.sh c|x4 [CPU-MINUTES] (INIT: the start, by
# default checkpoints/spec23L, which is now only in git: `git archive feb8f51 checkpoints/spec23L`
# recovers it). Results in docs/TRAINING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
BUDGET=${2:-85}
case "${1:-}" in
    c) RUN=e3c; EXTRA=() ;;
    x4) RUN=e3x4; EXTRA=(--model expansion=4) ;;
    *) echo "usage: $0 c|x4 [CPU-MINUTES]" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --run-dir "runs/$RUN" \
    --init-from "${INIT:-checkpoints/spec23L}" "${EXTRA[@]}" --threads 1 --cpu-minutes "$BUDGET" \
    --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
    --adv-start 0 --ema 0.999 > "runs/$RUN.log" 2>&1 &
