#!/usr/bin/env bash
# The discriminator A/B of the second session of 2026-12-03 (results in
# docs/training-record/2026-12-03.md).
# Warm restarts from spec23L3 with the usual recipe (experiments/cycles_2026-12-03b.sh, the control)
# stayed at its crop score (2.14-2.15 against 2.150) for 24 CPU-minutes, and the cheap
# discriminator sat near chance all along: its hinge loss 1.96-1.98 (2.0 = chance), real and
# generated logits alike. A discriminator that tells them apart may give the generator
# gradients the reconstruction losses no longer do. From checkpoints/spec23L3, one thread each,
# a 40 CPU-minute cosine, fresh optimiser:
#   dlr:  the cheap discriminator learning 5x faster (--disc-lr 1e-3);
#   full: the full set (HiFi-GAN periods 2-11 and three STFT resolutions): 15.5 s per step on
#         one thread against 0.8 (4 steps per CPU-minute), stopped after 50 steps;
#   multi: the cheap discriminator at three resolutions (256 / 512 / 1024 points), in full's place.
# spec23L3 is at commit 0376f3f since spec23L4 replaced it (spec23L5 is now codec/weights,
# spec23L6 the checkpoint): `git archive 0376f3f checkpoints/spec23L3 | tar x` recovers it.
# Usage: experiments/ab_disc_2026-12-03b.sh dlr|full|multi [CPU-MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
    dlr) RUN=d-dlr; EXTRA=(--disc cheap --disc-lr 1e-3) ;;
    full) RUN=d-full; EXTRA=(--disc full) ;;
    multi) RUN=d-multi; EXTRA=(--disc multi) ;;
    *) echo "usage: $0 dlr|full|multi [CPU-MINUTES]" >&2; exit 2 ;;
esac
nohup .venv/bin/python scripts/train.py --recipe none --run-dir "runs/$RUN" \
    --init-from checkpoints/spec23L3 --threads 1 --cpu-minutes "${2:-40}" --steps 100000 \
    --eval-every 300 --valid-items 24 --lr 3e-4 --warmup-steps 100 \
    --recon-loss compressed --cspec-weighting erb \
    --cmag-weight 1 --cplx-weight 1 --adv-weight 0.25 --feat-weight 0.5 \
    --adv-start 0 --ema 0.999 "${EXTRA[@]}" > "runs/$RUN.log" 2>&1 &
