#!/usr/bin/env bash
# Issue 26, eighth session (2026-12-07): round 6 of the level line, from the shipped
# checkpoints/spec23L10 with a fresh optimiser (round 5's run folder did not survive), with its
# recipe (codec/weights/recipe.json: batch 32 x 1 s, no discriminator, compiled compressed loss,
# EMA, --level-weight 0.3, --bitrate-decay 0.85) on a 105-CPU-minute cosine that ends inside one
# session. One thread each, side by side, from a `git archive` snapshot with the clone's venv;
# re-running the same command resumes from RUNS-FOLDER/ARM/checkpoint.pt:
#   experiments/rounds_2026-12-07h.sh ARM [RUNS-FOLDER]
#   round6: the shipped recipe (bitrate decay 0.85; the control)
#   low70:  --bitrate-decay 0.7 (1.5 / 3 / 6 / 9 kbps drawn 39 / 27 / 19 / 13 % of the time): the
#           stronger lean towards 1.5 kbps that round 5 began and could not finish; stopped
#           at 10 CPU-minutes to give its core to bf16
#   bf16:   --bf16, the forward passes under CPU bfloat16 autocast (this machine's EPYC has
#           AVX512-BF16; 1.27x the crops per CPU-minute in scripts/bench_train.py): the same
#           round at equal CPU, from a later snapshot (the flag is new)
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round6|low70|bf16 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --lr 3e-4
        --init-from checkpoints/spec23L10 --cpu-minutes 105)
case "$ARM" in
    round6) EXTRA=() ;;
    low70) EXTRA=(--bitrate-decay 0.7) ;;
    bf16) EXTRA=(--bf16) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    ${EXTRA[@]+"${EXTRA[@]}"}
