#!/usr/bin/env bash
# Issue 26, started at the end of the tenth session (2026-12-08): round 9 of the level line from
# the shipped checkpoints/spec23L12 (4 decoder blocks) with a fresh optimiser and its recipe
# (codec/weights/recipe.json, bf16), on a 100-CPU-minute cosine, beside deep5: the same with a
# fifth decoder block (`--model decoder_blocks=5`, the new block opened from zero by
# train/transplant.py; graphs 1.18x spec23L11's, scripts/graph_times.py). Both resume from
# RUNS-FOLDER/ARM/checkpoint.pt where the machine keeps it (re-run the same command).
# Selection, fixed before any score: all 96 held-out utterances of 2-10 s
# (`scripts/compare_models.py --no-latent --files 96`); a candidate ships only if it is ahead of
# spec23L12 at 1.5, 3, 6 and 9 kbps in both WB-PESQ and STOI; among those, the best 6 kbps
# WB-PESQ ships. deep5 must also stay at or under Lyra v2's time per frame
# (`scripts/benchmark.py --skip-offline --candidate DIR`).
#   experiments/rounds_2026-12-08.sh round9|deep5 [RUNS-FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round9|deep5 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --lr 3e-4 --bf16
        --init-from checkpoints/spec23L12 --cpu-minutes 100)
case "$ARM" in
    round9) EXTRA=() ;;
    deep5) EXTRA=(--model decoder_blocks=5) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    ${EXTRA[@]+"${EXTRA[@]}"}
