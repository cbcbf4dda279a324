#!/usr/bin/env bash
# Issue 26, end of the ninth session (2026-12-07): round 8 of the level line, from the shipped
# checkpoints/spec23L11 with a fresh optimiser and its recipe (codec/weights/recipe.json: batch
# 32 x 1 s, no discriminator, compiled compressed loss, EMA, --level-weight 0.3,
# --bitrate-decay 0.85, --bf16), on a 100-CPU-minute cosine. Started in the session's last
# half hour, so it resumes from RUNS-FOLDER/round8/checkpoint.pt where the machine keeps it
# (re-run the same command); otherwise start it again. Select on all 96 held-out utterances
# (`scripts/compare_models.py --no-latent --files 96`), as round 7 did.
#   experiments/rounds_2026-12-07j.sh round8 [RUNS-FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
ARM=${1:?usage: $0 round8 [RUNS-FOLDER]}
RUNS=${2:-runs}
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=$PWD
SHARED=$(cd .. && pwd)/shared/data
RECIPE=(--threads 1 --data "$SHARED/train.tsv" --batch-size 32 --valid-items 24
        --recon-loss compressed --cspec-weighting erb --cmag-weight 1 --cplx-weight 1
        --ema 0.999 --adv-weight 0 --compile --steps 1000000 --eval-every 200
        --ae-warmup 0 --level-weight 0.3 --bitrate-decay 0.85 --lr 3e-4 --bf16
        --init-from checkpoints/spec23L11 --cpu-minutes 100)
case "$ARM" in
    round8) EXTRA=() ;;
    *) echo "unknown arm $ARM" >&2; exit 2 ;;
esac
exec .venv/bin/python scripts/train.py --run-dir "$RUNS/$ARM" --recipe none "${RECIPE[@]}" \
    ${EXTRA[@]+"${EXTRA[@]}"}
