#!/usr/bin/env bash
# Issue 26, the sixth session of 2026-12-07: round 3 of the level line, from the shipped
# checkpoints/spec23L9, and the same round at half the peak learning rate, at equal CPU-minutes.
# The machine came back new this session (round 2's checkpoint.pt, with its optimizer state, was
# gone), so each round now fits inside one session: a 105-CPU-minute cosine schedule, which ends
# before the session must stop to ship. The recipe shipped in codec/weights/recipe.json (batch
# 32 x 1 s, no discriminator, compiled compressed loss, EMA, --level-weight 0.3).
# One thread each, from a `git archive` snapshot with the clone's venv:
#   experiments/rounds_2026-12-07e.sh ARM [RUNS-FOLDER]
#   round3: lr 3e-4, as every round before (the control)
#   lr15:   lr 1.5e-4: a warm restart from a model this far along may want a smaller step
# Measured (docs/TRAINING.md, "Sixth round"): round3 gained at 6 and 9 kbps on whole held-out
# utterances but not at 1.5 and 3, so nothing shipped; its end is checkpoints/spec23L9-round3.
# lr15 was behind at equal CPU. To rerun, start from checkpoints/spec23L9 as here; it was removed
# when spec23L10 shipped and is at commit d7bbc82 (git show d7bbc82:checkpoints/spec23L9/...).
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round3|lr15 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --init-from checkpoints/spec23L9 --cpu-minutes 105)
case "$ARM" in
    round3) EXTRA=(--lr 3e-4) ;;
    lr15) EXTRA=(--lr 1.5e-4) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    "${EXTRA[@]}"
