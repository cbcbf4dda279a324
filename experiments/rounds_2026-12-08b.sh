#!/usr/bin/env bash
# Issue 26, started at the end of the eleventh session (2026-12-08): round 10 of the level line
# from the shipped checkpoints/spec23L13 with a fresh optimiser and its recipe (bf16), on a
# 150-CPU-minute cosine (the round length the issue's stopping rule counts; it spans two
# sessions), beside lr6: the same at twice the peak learning rate (6e-4), to see whether the
# rounds learn faster per CPU-minute with a larger step. Both resume from
# RUNS-FOLDER/ARM/checkpoint.pt where the machine keeps it (re-run the same command).
# Selection, fixed before any score: all 96 held-out utterances of 2-10 s
# (`scripts/compare_models.py --no-latent --files 96`); a candidate ships only if it is ahead of
# spec23L13 at 1.5, 3, 6 and 9 kbps in both WB-PESQ and STOI; among those, the best 6 kbps
# WB-PESQ ships.
#   experiments/rounds_2026-12-08b.sh round10|lr6 [RUNS-FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round10|lr6 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --bf16
        --init-from checkpoints/spec23L13 --cpu-minutes 150)
case "$ARM" in
    round10) EXTRA=(--lr 3e-4) ;;
    lr6) EXTRA=(--lr 6e-4) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" "${EXTRA[@]}"
