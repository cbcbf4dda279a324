#!/usr/bin/env bash
# Issue 26 part 2, the session of 2026-12-07: the best two heads of the first round (control and
# envelope, quantizer off for 45 CPU-minutes) go on with the quantizer on, 60 CPU-minutes each,
# one thread each, batch 32 x 1 s, the fast recipe. Run from a `git archive` snapshot, with the
# clone's venv:
#   experiments/bakeoff_2026-12-07.sh ARM INIT-DIR [RUNS-FOLDER]
#   control-q:  INIT-DIR = checkpoints/bake45-control (the control's best, 45 CPU-minutes)
#   envelope-q: INIT-DIR = the envelope arm's best/ (38.2 CPU-minutes; its best on held-out crops)
# The codebooks are initialised by k-means on the first batch's latents (their `initialised` flag
# was never set), then quantizer dropout runs from the first step; fresh optimiser with warm-up.
# Two more arms of the first round (quantizer off, from scratch, 45 CPU-minutes, as the control
# of experiments/bakeoff_2026-12-06.sh), with no INIT-DIR (give "-"):
#   pitch: the pitch prior (decoder=spectral-pitch, codec/model/nn/spectral_pitch.py)
#   fine:  a finer synthesis grid, 15 ms frames 5 ms apart (still 10 ms of synthesis delay)
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 control-q|envelope-q|pitch|fine INIT-DIR|- [RUNS-FOLDER]}
INIT=${2:?the quantizer-off model to start from}
RUNS=${3:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
DATA=${DATA:-$(cd .. && pwd)/shared/data/train.tsv}
COMMON=(--threads 1 --data "$DATA" --batch-size 32 --valid-items 24 --recon-loss compressed
        --cspec-weighting erb --cmag-weight 1 --cplx-weight 1 --ema 0.999
        --adv-weight 0 --compile --steps 100000 --eval-every 200)
QUANTIZER_ON=(--ae-warmup 0 --cpu-minutes 60 --init-from "$INIT")
QUANTIZER_OFF=(--ae-warmup 1 --cpu-minutes 45)
case "$ARM" in
    control-q|envelope-q) EXTRA=("${QUANTIZER_ON[@]}") ;;
    pitch) EXTRA=("${QUANTIZER_OFF[@]}" --model decoder=spectral-pitch) ;;
    fine) EXTRA=("${QUANTIZER_OFF[@]}" --model synthesis_window=240 synthesis_step=80) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
# --recipe none: every setting is given here (the flag exists from 24ec150 on)
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${COMMON[@]}" \
    "${EXTRA[@]}"
