#!/usr/bin/env bash
# Issue 26, the fifth session of 2026-12-07: the second of the stopping rule's two rounds of at
# least 150 CPU-minutes on the best line (checkpoints/spec23L8, the level run of
# rounds_2026-12-07c.sh), and a larger level weight on the same schedule, so the two compare at
# equal CPU-minutes all along. The recipe shipped in codec/weights/recipe.json (batch 32 x 1 s,
# no discriminator, compiled compressed loss, EMA, --level-weight 0.3) with lr 3e-4, as the
# rounds before. A 150-minute round outlasts a session: rerunning the same command resumes from
# RUNS/ARM/checkpoint.pt (CPU time, step, schedule, optimizer and data state are kept there).
# Round 2's best (113.2 CPU-minutes, step 7,800) won on held-out whole utterances at every
# bitrate and shipped as spec23L9, which replaced checkpoints/spec23L8; recover that one with
# `git archive 412974e checkpoints/spec23L8 | tar x` to rerun this.
# One thread each, from a `git archive` snapshot with the clone's venv:
#   experiments/rounds_2026-12-07d.sh ARM [RUNS-FOLDER]
#   round2: 150 CPU-minutes, the shipped recipe (level weight 0.3; the control)
#   level1: 150 CPU-minutes, level weight 1.0 (losses.level_loss: |ln(output power / input
#           power)| per item); weight 0.3 beat 0 by +0.03 WB-PESQ at every bitrate last round
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round2|level1 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --lr 3e-4 --init-from checkpoints/spec23L8 --cpu-minutes 150)
case "$ARM" in
    round2) EXTRA=(--level-weight 0.3) ;;
    level1) EXTRA=(--level-weight 1.0) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    "${EXTRA[@]}"
