#!/usr/bin/env bash
# Fourth session of 2026-12-01: speed-shaped spectral models cut from checkpoints/spec32bG
# (width 256, 4 encoder / 6 decoder blocks, 374 CPU-minutes from scratch, id ebed9231d64b0935)
# by keeping its first blocks (train/transplant.py copies every tensor that keeps its name and
# shape), trained on with the cheap discriminator, as arms of an A/B at equal CPU time, one
# thread each:
#   e2d3: 2 encoder / 3 decoder blocks (needs int8 weights to fit the per-frame budget);
#   e1d2: 1 encoder / 2 decoder blocks (fits it in float32): stopped at 12 CPU-minutes, held-out
#         WB-PESQ@6 1.38 against e2d3's 1.59 (docs/training-record/2026-12-01.md);
#   e2d2: 2 encoder / 2 decoder blocks, started in e1d2's place: stopped at 4 CPU-minutes,
#         WB-PESQ@6 1.33 against e2d3's 1.50 at the same CPU;
#   e2d3i8: e2d3's best so far (runs/spec-e2d3/best) with 8-bit layers (codec/model/nn/int8.py: the shape
#         that fits the budget), trained on with the rounding in the loop.
# INIT (default checkpoints/spec32bG) is the model to start from; spec32bG has since been
# replaced (now by checkpoints/spec23L13) and lives at commit c232b00:
#   mkdir -p checkpoints/spec32bG && for f in codec.pt config.json; do
#     git show c232b00:checkpoints/spec32bG/$f > checkpoints/spec32bG/$f; done
# Usage: experiments/ab_depth_2026-12-01.sh e2d3|e1d2|e2d2|e2d3i8 [threads]. Re-running an arm resumes it.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    e2d3) SHAPE=(encoder_blocks=2 decoder_blocks=3) ;;
    e1d2) SHAPE=(encoder_blocks=1 decoder_blocks=2) ;;
    e2d2) SHAPE=(encoder_blocks=2 decoder_blocks=2) ;;
    e2d3i8) SHAPE=(encoder_blocks=2 decoder_blocks=3 int8=true) ;;
    *) echo "usage: $0 e2d3|e1d2|e2d2|e2d3i8 [threads]" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none \
    --run-dir "runs/spec-$1" --init-from "${INIT:-checkpoints/spec32bG}" \
    --model "${SHAPE[@]}" --threads "${2:-1}" --cpu-minutes 150 --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cmag-weight 1 --cplx-weight 1 \
    --adv-weight 0.25 --feat-weight 0.5 --disc cheap --adv-start 0 \
    > "runs/spec-$1.log" 2>&1 &
