#!/usr/bin/env bash
# Issue 26, started at the end of the seventh session of 2026-12-07: round 5 of the level line,
# from the shipped checkpoints/spec23L10, with its recipe (codec/weights/recipe.json: batch
# 32 x 1 s, no discriminator, compiled compressed loss, EMA, --level-weight 0.3,
# --bitrate-decay 0.85) on the 95-CPU-minute cosine of rounds_2026-12-07f.sh. One thread, from a
# `git archive` snapshot with the clone's venv; re-running the same command resumes it from
# RUNS-FOLDER/ARM/checkpoint.pt, when the machine has kept it:
#   experiments/rounds_2026-12-07g.sh ARM [RUNS-FOLDER]
#   round5: the shipped recipe (bitrate decay 0.85; the control)
#   low70:  --bitrate-decay 0.7 (1.5 / 3 / 6 / 9 kbps drawn 39 / 27 / 19 / 13 % of the time): a
#           stronger lean towards 1.5 kbps, the bitrate that held back shipping in rounds 3 and 4
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round5|low70 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --lr 3e-4
        --init-from checkpoints/spec23L10 --cpu-minutes 95)
case "$ARM" in
    round5) EXTRA=() ;;
    low70) EXTRA=(--bitrate-decay 0.7) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    ${EXTRA[@]+"${EXTRA[@]}"}
