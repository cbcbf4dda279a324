#!/usr/bin/env bash
# Issue 26, the third session of 2026-12-07: the main line (checkpoints/spec23L6) on the fast
# recipe (batch 32 x 1 s, no discriminator, compiled compressed loss, EMA), and the data A/Bs
# warm-started from the same weights, compared with the main line at equal CPU-minutes; lr 3e-4,
# as the rounds that made spec23L6. The main arm's result replaced spec23L6 (now spec23L7);
# `git archive a1fa8c4 checkpoints/spec23L6 | tar x` recovers it to rerun these arms.
# One thread each, from a `git archive` snapshot with the clone's venv:
#   experiments/rounds_2026-12-07b.sh ARM [RUNS-FOLDER]
#   main:   60 CPU-minutes, today's data and augmentation (the control of both A/Bs, and a
#           round of the main line)
#   lpcnet: 60 CPU-minutes, --augment lpcnet (random 2nd-order filter, polarity, noise)
#   extra:  60 CPU-minutes, train.tsv plus train_extra.tsv (the held-out speakers of both
#           manifests stay out of training; selection stays on train.tsv's held-out speakers)
#   feedback: part 2's last arm, the decoder fed its own past output
#           (experiments/feedback_decoder.py), from scratch with the quantizer off for 45
#           CPU-minutes: the recipe of the control of experiments/bakeoff_2026-12-06.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 main|lpcnet|extra|feedback [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200)
WARM=(--ae-warmup 0 --lr 3e-4 --init-from checkpoints/spec23L6)
TRAIN=(scripts/train.py)
case "$ARM" in
    main) EXTRA=("${WARM[@]}" --cpu-minutes 60) ;;
    lpcnet) EXTRA=("${WARM[@]}" --cpu-minutes 60 --augment lpcnet) ;;
    extra) EXTRA=("${WARM[@]}" --cpu-minutes 60 --extra-data "$SHARED/train_extra.tsv") ;;
    feedback) EXTRA=(--ae-warmup 1 --cpu-minutes 45 --model decoder=spectral-feedback)
              TRAIN=(experiments/feedback_decoder.py scripts/train.py) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python "${TRAIN[@]}" --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    "${EXTRA[@]}"
