#!/usr/bin/env bash
# Issue 26, the fourth session of 2026-12-07: the first of the stopping rule's two rounds of at
# least 150 CPU-minutes on the main line (checkpoints/spec23L7), and a level term A/B on the same
# schedule, so the two compare at equal CPU-minutes all along. The fast recipe (batch 32 x 1 s,
# no discriminator, compiled compressed loss, EMA) with lr 3e-4, as the rounds that made spec23L7.
# A 150-minute round outlasts a session: rerunning the same command resumes from
# RUNS/ARM/checkpoint.pt (CPU time, step, schedule, optimizer and data state are kept there).
# The level arm won (held-out whole utterances, every bitrate) and shipped as spec23L8, which
# replaced checkpoints/spec23L7: `git archive 9df4ae5 checkpoints/spec23L7 | tar x` recovers it.
# One thread each, from a `git archive` snapshot with the clone's venv:
#   experiments/rounds_2026-12-07c.sh ARM [RUNS-FOLDER]
#   main:  150 CPU-minutes, today's recipe (a round of the main line; the control)
#   level: 150 CPU-minutes, plus --level-weight 0.3 (losses.level_loss: |ln(output power /
#          input power)| per item), against spec23L7's level spread on eval/ (0.67 dB mean abs.
#          at 6 kbps, -0.40 dB mean) and its 1.3-2.2 dB of output gain calibrated on afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 main|level [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --lr 3e-4 --init-from checkpoints/spec23L7 --cpu-minutes 150)
case "$ARM" in
    main) EXTRA=() ;;
    level) EXTRA=(--level-weight 0.3) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    "${EXTRA[@]}"
