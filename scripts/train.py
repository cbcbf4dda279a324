#!/usr/bin/env python3
"""Train the codec on a folder or manifest of speech (default: ../shared/data/train.tsv).

Resumes from RUN_DIR/checkpoint.pt when it exists; ``--init-from codec/weights`` starts from the
shipped weights with a fresh optimizer. The best held-out model is exported to RUN_DIR/best, with
its recipe (recipe.json: the flags below that differ from their built-in defaults). Flags not
given take their defaults from the shipped model's recipe (codec/weights/recipe.json; --recipe).

    python scripts/train.py --run-dir runs/cpu1 --steps 4000
    torchrun --nproc_per_node 8 scripts/train.py --run-dir runs/gpu --adv-weight 1   # DDP
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

import torch
from torch import distributed as dist
from tqdm import tqdm

from codec.model import CodecConfig, load_model
from codec.runtime.signals import INTERRUPTED, STOPS, TERMINATED, handled
from codec.runtime.store import RECIPE_FILE, WEIGHTS_DIR, shipped_architecture
from codec.train.data import SpeechCorpus, list_utterances, split_sources
from codec.train.loop import TrainConfig, Trainer
from codec.train.recipe import read_recipe

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_RECIPE = WEIGHTS_DIR / RECIPE_FILE  # read when the arguments are parsed


def model_config(args: argparse.Namespace) -> CodecConfig | None:
    """The architecture asked for: the --init-from model's (None: keep it as saved) or the
    default one, with --code-dim / --kernel-factors applied."""
    try:
        changes = CodecConfig.parse_fields(args.model or [])
    except ValueError as e:
        raise SystemExit(f"--model: {e}") from None
    if args.code_dim is not None:
        changes["code_dim"] = args.code_dim
    if args.kernel_factors is not None:
        changes["kernel_factors"] = tuple(args.kernel_factors)
    if args.init_from and not changes:
        return None
    base = load_model(args.init_from).config if args.init_from else shipped_architecture()
    return replace(base, **changes)


def parser(description: str = __doc__) -> argparse.ArgumentParser:
    """The flags of a run: data, run folder, model changes and every ``TrainConfig`` field."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared/data/train.tsv"),
                   help="a .tsv manifest or a folder of audio files (never the eval set)")
    p.add_argument("--extra-data", nargs="+", default=[], metavar="SOURCE",
                   help="more manifests or folders to train on; their held-out speakers (the "
                        "same split) stay out, and the model is still selected on --data's")
    p.add_argument("--run-dir", required=True, help="run directory (checkpoints, logs, best/)")
    p.add_argument("--holdout", type=float, default=0.05, help="fraction of speakers held out")
    p.add_argument("--init-from", help="start from a saved model directory")
    p.add_argument("--code-dim", type=int,
                   help="model: codebook vector size (0: the latent size); default: the "
                        "--init-from model's, else the shipped architecture's")
    p.add_argument("--kernel-factors", type=int, nargs="+",
                   help="model: kernel / stride of each stage after the first (1 or 2 each)")
    p.add_argument("--model", nargs="+", metavar="FIELD=VALUE",
                   help="model: CodecConfig fields, e.g. encoder=spectral decoder=spectral "
                        "hop_size=320 transform=mdct")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    for f in fields(TrainConfig):
        flag, kind = f"--{f.name.replace('_', '-')}", type(f.default)
        if kind is bool:  # --compile / --no-compile
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
            continue
        if kind is tuple:  # comma-separated integers
            kind = lambda v: tuple(int(x) for x in v.split(","))  # noqa: E731
        p.add_argument(flag, type=kind, default=f.default)
    return p


def train(args: argparse.Namespace, corpus: SpeechCorpus, valid: SpeechCorpus) -> None:
    """Build the run that ``args`` describe and train it on ``corpus``, selecting on ``valid``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"train: {len(corpus)} files, {corpus.hours:.2f} h; held out: {len(valid)} files, "
          f"{valid.hours:.2f} h")
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    Trainer(Path(args.run_dir), corpus, valid, cfg, model_config(args),
            Path(args.init_from) if args.init_from else None, args.device).run()


def parse_args(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser,
                                                      argparse.Namespace]:
    """The parser and ``argv`` parsed, each flag not given taking the --recipe file's value
    (default: the shipped model's recipe) where it has one."""
    p = parser()
    p.add_argument("--recipe", default=str(SHIPPED_RECIPE),
                   help="a recipe.json (a model's, beside its config.json) whose values are the "
                        "defaults of the flags above; 'none': their built-in defaults "
                        "(default: the shipped model's, %(default)s)")
    recipe = p.parse_known_args(argv)[0].recipe
    if recipe == str(SHIPPED_RECIPE) and not SHIPPED_RECIPE.exists():
        print(f"train: no {SHIPPED_RECIPE}: the built-in defaults", file=sys.stderr)
    elif recipe != "none":
        try:
            p.set_defaults(**read_recipe(Path(recipe)))
        except ValueError as e:
            p.error(f"--recipe: {e}")
    return p, p.parse_args(argv)


def main() -> None:
    p, args = parse_args()
    if "LOCAL_RANK" in os.environ:  # started by torchrun: one process per device
        local_rank = int(os.environ["LOCAL_RANK"])
        if args.device.startswith("cuda"):
            torch.cuda.set_device(local_rank)
            args.device = f"cuda:{local_rank}"
        dist.init_process_group("nccl" if args.device.startswith("cuda") else "gloo")

    train_utts, valid_utts = split_sources(
        list_utterances(args.data), [list_utterances(e) for e in args.extra_data], args.holdout)
    if not train_utts:
        p.error(f"no training files left in {args.data} after holding out {args.holdout:.0%} "
                "of the speakers")
    quiet = not sys.stderr.isatty()
    interruptible(lambda: train(
        args, SpeechCorpus(train_utts, progress=lambda x: tqdm(x, "load train", disable=quiet)),
        SpeechCorpus(valid_utts, progress=lambda x: tqdm(x, "load held-out", disable=quiet))),
        Path(args.run_dir))
    if dist.is_initialized():
        dist.destroy_process_group()


def interruptible(run, run_dir: Path) -> None:
    """``run()``; on Ctrl-C or SIGTERM, one line (the trainer has saved its checkpoint once
    it started) and exit status 130 or 143, no traceback."""
    with handled():
        try:
            run()
        except STOPS as stop:
            saved = run_dir / "checkpoint.pt"
            where = f"; resume from {saved}" if saved.exists() else ""
            print(f"interrupted{where}", file=sys.stderr)
            raise SystemExit(TERMINATED if isinstance(stop, SystemExit) else INTERRUPTED) \
                from None


if __name__ == "__main__":
    main()
