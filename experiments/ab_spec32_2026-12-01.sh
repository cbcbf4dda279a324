#!/usr/bin/env bash
# Third session of 2026-12-01: spec32 (spec2 at 166 CPU-minutes, then 60 with a 32-dim latent
# searched in full; checkpoints/spec32 as of commit bc73636, since replaced by checkpoints/spec32b)
# trained on, fresh optimiser and a short warm-up, as arms of an A/B at equal CPU time, one
# thread each, from that one start:
#   b: the same recipe (the main line; resumed at step 7600 with --threads 2 once G stopped);
#   L: plus a level term (--level-weight 1, losses.level_loss): stopped after 17 CPU-minutes,
#      behind b on every held-out figure (docs/training-record/2026-12-01.md);
#   G: plus the cheap spectral discriminator (as bake-stft-gan), started in L's place and
#      stopped after 62 CPU-minutes to give b both cores.
# Usage: experiments/ab_spec32_2026-12-01.sh b|L|G. Re-running an arm resumes its checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
COMMON=(--init-from checkpoints/spec32 --threads 1 --cpu-minutes 130 --steps 100000
        --eval-every 400 --valid-items 24 --lr 5e-4 --warmup-steps 100
        --recon-loss compressed --cmag-weight 1 --cplx-weight 1)
case "${1:-}" in
    b) EXTRA=() ;;
    L) EXTRA=(--level-weight 1) ;;
    G) EXTRA=(--adv-weight 0.25 --feat-weight 0.5 --disc cheap --adv-start 0) ;;
    *) echo "usage: $0 b|L|G" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir "runs/spec32$1" "${COMMON[@]}" "${EXTRA[@]}" \
    > "runs/spec32$1.log" 2>&1 &
