#!/usr/bin/env bash
# Second session of 2026-12-02: spec23erb2 (checkpoints/spec23erb2, at commit a151395 since L's
# best, checkpoints/spec23L, replaced it; spec23L is at commit feb8f51 since checkpoints/spec23L2
# replaced it in turn) trained on as the arms of an A/B at equal CPU time,
# one thread each, fresh optimiser and a short warm-up, for the 1.5 kbps STOI gap to cpu4,
# which now lies at 0.95-1.2 kHz and 2.4-3.8 kHz:
#   c: the ERB-weighted compressed spectra as before (1 / ERB(f)): the control, and plain
#      continued training;
#   f: the same weight held flat above 1 kHz (--cspec-erb-flat-hz 1000), so the bands above
#      1 kHz weigh alike instead of falling by 2.6x up to 3.8 kHz;
#   L: c with the encoder's 60 ms analysis window (--model long_window=960), started on f's
#      core when f was stopped at 50 CPU-minutes (one hour in), with a 45 CPU-minute schedule
#      (extended to 55 at step 2,100, once c had finished).
# f started 3.5 minutes after c. c and f began with a 95 CPU-minute schedule, cut to 85 at
# step 1200 to leave the session time to evaluate (the cosine decay shortened to match).
# BUDGET below is c's and f's final budget and L's first.
# Usage: experiments/ab_erb_flat_2026-12-02.sh c|f|L. Results in docs/training-record/2026-12-02.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    c) RUN=c3; BUDGET=85; EXTRA=() ;;
    f) RUN=f3; BUDGET=85; EXTRA=(--cspec-erb-flat-hz 1000) ;;
    L) RUN=L3; BUDGET=45; EXTRA=(--model long_window=960) ;;
    *) echo "usage: $0 c|f|L" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none --run-dir "runs/$RUN" \
    --init-from checkpoints/spec23erb2 "${EXTRA[@]}" --threads 1 --cpu-minutes "$BUDGET" \
    --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 --disc cheap \
    --adv-start 0 --ema 0.999 > "runs/$RUN.log" 2>&1 &
