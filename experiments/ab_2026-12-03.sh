#!/usr/bin/env bash
# The two A/Bs of the session of 2026-12-03, each at equal CPU time, one thread per arm, fresh
# optimiser and a short warm-up, the recipe of the 2026-12-02 sessions. Results in
# docs/training-record/2026-12-03.md.
#
# 1. Is the spectral model capacity-bound? spec23L's training and held-out losses were flat
#    together (a plateau, not overfitting), and more blocks cost per-frame time the budget does
#    not have. A wider hidden layer in every ConvNeXt block adds weight bytes only (no new graph
#    nodes; scripts/graph_times.py: expansion 4 took 1.12x spec23L's graphs per frame, 3 1.07x).
#    From checkpoints/spec23L (at commit feb8f51 since c's best, checkpoints/spec23L2, replaced
#    it; `git archive feb8f51 checkpoints/spec23L | tar x` recovers it), 85 CPU-minutes:
#      c:  spec23L as it is (the control, and plain continued training);
#      x4: spec23L grown to expansion 4 (transplant: the new hidden units' output weights start
#          at zero, so the grown model starts computing exactly what spec23L does).
# 2. The 1.5 kbps STOI gap to cpu4 (0.773 against 0.782) has not moved in eight loss and
#    sampling arms; the residual after the 3 codebooks of 1.5 kbps is larger than cpu4's. From
#    checkpoints/spec23L2 (at commit 1bb3026 since c2's best, checkpoints/spec23L3, itself at
#    0376f3f, replaced it), the session's last 30 CPU-minutes:
#      c2: spec23L2 as it is (the control);
#      k:  the commitment of the first 3 levels weighted 4 times (--coarse-commit-weight 4), so
#          the encoder shapes its latent for the coarse codes.
# Usage: experiments/ab_2026-12-03.sh c|x4|c2|k [CPU-MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    c) RUN=e3c; INIT=checkpoints/spec23L; BUDGET=85; EXTRA=() ;;
    x4) RUN=e3x4; INIT=checkpoints/spec23L; BUDGET=85; EXTRA=(--model expansion=4) ;;
    c2) RUN=e3c2; INIT=checkpoints/spec23L2; BUDGET=30; EXTRA=() ;;
    k) RUN=e3k; INIT=checkpoints/spec23L2; BUDGET=30; EXTRA=(--coarse-commit-weight 4) ;;
    *) echo "usage: $0 c|x4|c2|k [CPU-MINUTES]" >&2; exit 2 ;;
esac
BUDGET=${2:-$BUDGET}
nohup .venv/bin/python scripts/train.py --recipe none --run-dir "runs/$RUN" \
    --init-from "$INIT" "${EXTRA[@]}" --threads 1 --cpu-minutes "$BUDGET" \
    --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
    --adv-start 0 --ema 0.999 > "runs/$RUN.log" 2>&1 &
