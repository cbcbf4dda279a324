#!/usr/bin/env python3
"""Training throughput: crops per CPU-minute of a recipe, given as ``scripts/train.py`` flags.

Each measurement runs ``scripts/train.py`` from scratch on one thread for ``--warm + --steps``
steps, logging every step, and reads the CPU time of the ``--steps`` steps after the warm ones
from its ``train.csv`` (the trainer's own count: ``time.process_time`` around each step, every
thread of the process): start-up, data loading, compilation (``--compile`` compiles in the first
step, in the process), evaluation and export are left out. Nothing is forked after the first
step, so this is also the process tree's CPU time in those steps; the whole tree's for the whole
run (user + system, every child it waited for: the compiler included) is printed beside it.
``--baseline-rev`` runs the same measurement on the code of an earlier git revision (its own
``scripts/train.py``, from ``git archive``), in alternation with this one, and prints the ratio.

    python scripts/bench_train.py -- --batch-size 32 --recon-loss compressed ...
    python scripts/bench_train.py --baseline-rev 859dc57 \\
        --baseline-flags="--batch-size 32 --adv-weight 0.25 --disc cheap ..." -- --batch-size 32 ...

The machine may be shared: alternate the two codes (``--repeats``) and read the ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared/data/train.tsv"


def subset_manifest(source: Path, rows: int, folder: Path) -> Path:
    """The first ``rows`` rows of a manifest (paths made absolute): a run loads them in seconds,
    and a step's cost does not depend on how much audio is held."""
    with open(source, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        fields, kept = reader.fieldnames, [r for _, r in zip(range(rows), reader)]
    for r in kept:
        r["path"] = str((source.parent / r["path"]).resolve())
    out = folder / "subset.tsv"
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, delimiter="\t")
        w.writeheader()
        w.writerows(kept)
    return out


def tree_cpu_seconds(cmd: list[str], cwd: Path, env: dict) -> float:
    """Run ``cmd``; the CPU time of it and every descendant it waited for."""
    before = os.times()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{shlex.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system
                                                           - before.children_system)


def measure(code: Path, flags: list[str], steps: int, warm: int, work: Path,
            data: Path) -> tuple[float, float]:
    """CPU seconds of ``steps`` training steps after ``warm`` ones, with the code in ``code``,
    and of the whole run's process tree."""
    run = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE",
           "PYTHONPATH": str(code), "TORCHINDUCTOR_CACHE_DIR": str(run / "inductor")}
    tree = tree_cpu_seconds(
        [sys.executable, str(code / "scripts/train.py"), "--run-dir", str(run / "run"),
         "--data", str(data), "--threads", "1", "--steps", str(warm + steps), "--log-every", "1",
         "--eval-every", str(10 ** 9), "--valid-items", "1", *flags], code, env)
    with open(run / "run" / "train.csv", newline="") as f:
        minutes = {int(r["step"]): float(r["time/cpu_min"]) for r in csv.DictReader(f)}
    return 60 * (minutes[warm + steps] - minutes[warm]), tree


def batch_size(flags: list[str], code: Path) -> int:
    """The batch that ``code``'s ``scripts/train.py`` runs with ``flags`` (run in ``code``): the
    flag's, else its recipe's (the shipped model's unless ``--recipe``), else 16, TrainConfig's."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--recipe", default="codec/weights/recipe.json")
    args = p.parse_known_args(flags)[0]
    recipe = code / args.recipe
    if args.batch_size is None and args.recipe != "none" and recipe.is_file():
        return json.loads(recipe.read_text()).get("batch_size", 16)
    return args.batch_size or 16


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("flags", nargs=argparse.REMAINDER,
                   help="after --: scripts/train.py flags of the recipe (not --run-dir, --data, "
                        "--steps, --threads)")
    p.add_argument("--steps", type=int, default=30, help="steps timed per measurement")
    p.add_argument("--warm", type=int, default=5, help="steps run before the timed ones")
    p.add_argument("--repeats", type=int, default=1, help="measurements per code, alternated")
    p.add_argument("--baseline-rev", help="also measure this git revision's code")
    p.add_argument("--baseline-flags",
                   help="the baseline's recipe, if not the same flags (one quoted string)")
    p.add_argument("--data", type=Path, default=DATA, help="a training manifest (.tsv)")
    p.add_argument("--rows", type=int, default=300, help="rows of it to load")
    args = p.parse_args()
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    base_flags = shlex.split(args.baseline_flags) if args.baseline_flags is not None else flags
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        data = subset_manifest(args.data, args.rows, work)
        codes = [("this tree", ROOT, flags)]
        if args.baseline_rev:
            old = work / "baseline"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_rev],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "x", "-C", str(old)], input=archive, check=True)
            codes.append((f"rev {args.baseline_rev}", old, base_flags))
        rates: dict[str, list[float]] = {name: [] for name, _, _ in codes}
        trees: dict[str, list[float]] = {name: [] for name, _, _ in codes}
        for _ in range(args.repeats):
            for name, code, f in codes:
                cpu, tree = measure(code, f, args.steps, args.warm, work, data)
                rates[name].append(args.steps * batch_size(f, code) * 60 / cpu)
                trees[name].append(tree)
                print(f"  {name}: {args.steps} steps in {cpu:.1f} CPU-s (the whole run "
                      f"{tree:.1f})", file=sys.stderr)
    print("| code | recipe | crops per CPU-minute (each measurement) | mean | whole runs, CPU-s |")
    print("|---|---|---|---:|---|")
    for name, _, f in codes:
        each = ", ".join(f"{r:.0f}" for r in rates[name])
        runs = ", ".join(f"{t:.0f}" for t in trees[name])
        print(f"| {name} | `{shlex.join(f)}` | {each} | {sum(rates[name]) / len(rates[name]):.0f} "
              f"| {runs} |")
    if args.baseline_rev:
        mine, base = (sum(rates[n]) / len(rates[n]) for n, _, _ in codes)
        print(f"\nratio, this tree / {args.baseline_rev}: {mine / base:.2f}x")

if __name__ == "__main__":
    main()
