#!/usr/bin/env python3
"""Train the current recipe on one CUDA GPU (bf16 autocast) for a given number of minutes, from a
training pack of at most 60 MiB: for a lent machine that cannot read ``../shared``.

Pack first, where the data is (``codec/train/pack.py``: train and held-out speakers apart, as
``scripts/train.py`` splits them); then carry the pack and train there:

    python scripts/train_gpu.py pack out/pack                        # from ../shared/data/train.tsv
    python scripts/train_gpu.py train out/pack --minutes 10 --run-dir out/gpu1 \\
        --init-from checkpoints/spec23L13                              # any scripts/train.py flag

The run's best held-out model (WB-PESQ at 6 kbps, in the shipped format) is written to
``RUN_DIR/best``; ``RUN_DIR/checkpoint.pt`` resumes. ``--minutes`` is wall-clock time in training
steps (evaluation left out), and the learning-rate schedule runs over it. Without a GPU it runs
on the CPU (the tests do, for a few steps).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import ROOT, interruptible, parser, train  # noqa: E402

from codec.runtime.store import shipped_config  # noqa: E402
from codec.train.pack import read_pack, write_pack  # noqa: E402

MAX_MIB = 60
# The recipe (docs/TRAINING.md): spec23L5's losses without the discriminator. On a GPU the
# batch is larger and the evaluation rarer than on two CPU cores.
RECIPE = dict(batch_size=64, recon_loss="compressed", cspec_weighting="erb", cmag_weight=1.0,
              cplx_weight=1.0, adv_weight=0.0, ema=0.999, eval_every=500, valid_items=24,
              log_every=50, steps=10 ** 9)


def main() -> None:
    top = argparse.ArgumentParser(description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("pack", help="pack training speech into a folder")
    pack.add_argument("folder", type=Path)
    pack.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train.tsv",
                      help="a .tsv manifest (never the eval set)")
    pack.add_argument("--max-mib", type=float, default=MAX_MIB, help="size limit of the pack")
    pack.add_argument("--holdout", type=float, default=0.05, help="fraction of speakers held out")
    sub.add_parser("train", help="train from a pack (every scripts/train.py flag applies)",
                   add_help=False)
    args, rest = top.parse_known_args()
    if args.command == "pack":
        summary = write_pack(args.data, args.folder, int(args.max_mib * 2 ** 20),
                             shipped_config().sample_rate, args.holdout)
        print(", ".join(f"{k} {v}" for k, v in summary.items()))
        return
    p = parser(__doc__)
    p.prog = f"{top.prog} train"
    p.add_argument("pack", type=Path, help="a folder written by the pack command")
    p.add_argument("--minutes", type=float, required=True,
                   help="wall-clock minutes of training steps")
    p.set_defaults(**RECIPE)
    run = p.parse_args(rest)
    run.wall_minutes = run.minutes
    corpus, valid = read_pack(run.pack)
    interruptible(lambda: train(run, corpus, valid), Path(run.run_dir))


if __name__ == "__main__":
    main()
