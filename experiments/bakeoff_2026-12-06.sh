#!/usr/bin/env bash
# Issue 26, the session of 2026-12-06: from-scratch runs on spec23L5's architecture, one thread
# each, batch 32 x 1 s. Results in docs/TRAINING.md. Run from a `git archive` snapshot of the
# commit that holds this file (so edits to main cannot break a run), with the clone's venv:
#   experiments/bakeoff_2026-12-06.sh ARM [RUNS-FOLDER]
#
# Part 1, the fast recipe against the old one, to 60,000 crops (1,875 steps, the cosine over
# steps, so both runs see the same schedule per crop):
#   old:    spec23L5's recipe at 859dc57 (its cheap discriminator, weight 0.25); run it with
#           the code of that revision
#   nodisc: the same without the discriminator (--adv-weight 0), the same code
# Part 2, decoders with the quantizer off (--ae-warmup 1: scored and selected on the latent
# decoded unquantized), 45 CPU-minutes each, the fast recipe (no discriminator, the compressed
# loss compiled):
#   control:  today's head
#   envelope: the gain-shape head (decoder=spectral-envelope, codec/model/nn/spectral_envelope.py)
#   weight:   the loss's ERB weight held flat above 1 kHz, so the bands above get their share
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 old|nodisc|control|envelope|weight [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
DATA=${DATA:-$(cd .. && pwd)/shared/data/train.tsv}
COMMON=(--threads 1 --data "$DATA" --batch-size 32 --valid-items 24 --recon-loss compressed
        --cspec-weighting erb --cmag-weight 1 --cplx-weight 1 --ema 0.999)
FAST=(--adv-weight 0 --compile --ae-warmup 1 --cpu-minutes 45 --steps 100000 --eval-every 200)
case "$ARM" in
    old) EXTRA=(--steps 1875 --eval-every 250 --adv-weight 0.25 --feat-weight 0.5 --disc cheap) ;;
    nodisc) EXTRA=(--steps 1875 --eval-every 250 --adv-weight 0) ;;
    control) EXTRA=("${FAST[@]}") ;;
    envelope) EXTRA=("${FAST[@]}" --model decoder=spectral-envelope) ;;
    weight) EXTRA=("${FAST[@]}" --cspec-erb-flat-hz 1000) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
# --recipe none (from 24ec150 on): every setting as it was run; drop it in an older snapshot
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${COMMON[@]}" "${EXTRA[@]}"
