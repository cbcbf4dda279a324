#!/usr/bin/env bash
# Session of 2026-12-03, second A/B (short: the session's last 30 CPU-minutes): the 1.5 kbps STOI
# gap to cpu4 (0.773 against 0.782) has not moved in eight loss and sampling arms; the residual
# after the 3 codebooks of 1.5 kbps is larger than cpu4's. Two arms from checkpoints/spec23L2,
# one thread each, fresh optimiser and a short warm-up, the recipe of ab_expansion_2026-12-03.sh:
#   c2: spec23L2 as it is (the control);
#   k:  the commitment of the first 3 levels weighted 4 times (--coarse-commit-weight 4), so the
#       encoder shapes its latent for the coarse codes.
# Usage: scripts/ab_coarse_commit_2026-12-03.sh c2|k [CPU-MINUTES]. Results in docs/TRAINING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
BUDGET=${2:-30}
case "${1:-}" in
    c2) RUN=e3c2; EXTRA=() ;;
    k) RUN=e3k; EXTRA=(--coarse-commit-weight 4) ;;
    *) echo "usage: $0 c2|k [CPU-MINUTES]" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --run-dir "runs/$RUN" \
    --init-from checkpoints/spec23L2 "${EXTRA[@]}" --threads 1 --cpu-minutes "$BUDGET" \
    --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
    --adv-start 0 --ema 0.999 > "runs/$RUN.log" 2>&1 &
