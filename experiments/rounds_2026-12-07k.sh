#!/usr/bin/env bash
# Issue 26, tenth session (2026-12-07): a deeper decoder at equal CPU beside round 8.
# round8 is experiments/rounds_2026-12-07j.sh (the shipped recipe from checkpoints/spec23L11,
# 100-CPU-minute cosine). deep4 is the same run with a fourth decoder block
# (`--model decoder_blocks=4`; train/transplant.py starts the new block with its layer scale at
# zero, so it begins as spec23L11 exactly). Cutting decoder blocks cost the most of any shape
# change (training-record/2026-12-01.md: 2 -> 3 blocks was +0.17 WB-PESQ at 4 CPU-minutes),
# and the fourth 8-bit block costs about +13% per frame, inside the speed budget.
# Selection, fixed before any score: all 96 held-out utterances of 2-10 s
# (`scripts/compare_models.py --no-latent --files 96`); a candidate ships only if it is ahead of
# spec23L11 at 1.5, 3, 6 and 9 kbps in both WB-PESQ and STOI; among those, the best 6 kbps
# WB-PESQ ships. deep4 must also stay at or under Lyra v2's time per frame
# (`scripts/benchmark.py --skip-offline --candidate DIR`), or at most 1.5x with +0.1 WB-PESQ at 6 kbps.
#   experiments/rounds_2026-12-07k.sh deep4 [RUNS-FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 deep4 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --lr 3e-4 --bf16
        --init-from checkpoints/spec23L11 --cpu-minutes 100)
case "$ARM" in
    deep4) EXTRA=(--model decoder_blocks=4) ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    ${EXTRA[@]+"${EXTRA[@]}"}
