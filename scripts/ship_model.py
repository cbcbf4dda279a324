#!/usr/bin/env python3
"""Ship a saved model: the shipped one moves to ``codec/weights/previous/<its model id>/`` (its
weights, config, graphs and recipe), so the files it wrote keep decoding, and DIR's files take
its place (``scripts/train.py`` then takes its defaults from DIR's ``recipe.json``, if any).

    python scripts/ship_model.py runs/NAME/level

DIR must load as a model with every graph the runtime runs, each matching its SHA-256 as the
runtime checks it; a model that is already shipped or in ``previous/`` is refused. The new
weights folder is built beside the old one (earlier models hard-linked into it) and swapped in
by one rename, so an interruption leaves the old model shipped or the new one, never neither.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from codec.errors import FormatError
from codec.model import load_model
from codec.model.export import graph_roles
from codec.runtime.engine import load_engine
from codec.runtime.store import (CONFIG_FILE, PREVIOUS, RECIPE_FILE, WEIGHTS_DIR, model_dir_for_id,
                                 model_files, read_meta)

AT_FDCWD, RENAME_EXCHANGE = -100, 2  # Linux <fcntl.h>, <linux/fs.h>


class Refused(Exception):
    """Why nothing was shipped, in one line."""


def check_model(directory: Path) -> dict:
    """The ``config.json`` of a saved model that loads (its id the weights' own) with every graph
    the runtime runs, each matching its SHA-256; ``Refused`` saying why not."""
    try:
        meta = read_meta(directory)
        model = load_model(directory)
        engine = load_engine(directory)  # refuses a model without graphs
        for role in {*graph_roles(model), *meta["graphs"]}:
            engine.graph(role)
        names = model_files(meta)
    except (ValueError, OSError) as e:  # FormatError is a ValueError
        raise Refused(str(e)) from None
    except (KeyError, TypeError, AttributeError) as e:
        raise Refused(f"model in {directory} has a malformed {CONFIG_FILE} ({e!r})") from None
    if model.model_id.hex() != meta.get("model_id"):
        raise Refused(f"model in {directory} has id {model.model_id.hex()}, its {CONFIG_FILE} "
                      f"says {meta.get('model_id')}")
    if any(Path(name).name != name for name in names):
        raise Refused(f"model in {directory} names files outside its folder: {names}")
    return meta


def check_shipping(directory: Path, weights: Path) -> tuple[dict, dict | None]:
    """The new model's and the shipped model's ``config.json`` (``None`` where ``weights``
    holds no model yet); ``Refused`` if the new model is not valid or the package has it."""
    if not weights.is_dir():
        raise Refused(f"{weights} is not a folder")
    new = check_model(directory)
    old = check_model(weights) if (weights / CONFIG_FILE).exists() else None
    if old and old["model_id"] == new["model_id"]:
        raise Refused(f"model {new['model_id']} is already the shipped one ({weights})")
    try:
        found = model_dir_for_id(bytes.fromhex(new["model_id"]), [weights / PREVIOUS])
    except FormatError:
        found = None  # as it should be
    if found:
        raise Refused(f"model {new['model_id']} is already in {found}")
    kept = weights / PREVIOUS / old["model_id"] if old else None
    if kept and kept.exists() and check_model(kept)["model_id"] != old["model_id"]:
        raise Refused(f"{kept} holds another model than {old['model_id']}")
    return new, old


def link(src: str | Path, dst: str | Path) -> None:
    """``dst`` as a hard link to ``src`` (a copy where links are not possible)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def files_of(directory: Path, meta: dict) -> list[str]:
    """A model folder's files: those of its ``config.json``, and its recipe where it has one."""
    return model_files(meta) + ([RECIPE_FILE] if (directory / RECIPE_FILE).is_file() else [])


def fill(stage: Path, directory: Path, weights: Path, new: dict, old: dict | None) -> None:
    """Build the new weights folder in ``stage``: DIR's model files (copies: DIR may change
    later), the shipped model's in ``previous/<id>/`` and the rest of ``weights`` linked."""
    os.chmod(stage, weights.stat().st_mode & 0o7777)  # mkdtemp makes it private
    for name in files_of(directory, new):
        shutil.copy2(directory / name, stage / name)
    retired = files_of(weights, old) if old else []
    for entry in weights.iterdir():
        if entry.name in retired or (stage / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, stage / entry.name, symlinks=True, copy_function=link)
        else:
            link(entry, stage / entry.name)
    kept = stage / PREVIOUS / old["model_id"] if old else None
    if kept and not kept.exists():
        kept.mkdir(parents=True)
        for name in retired:
            link(weights / name, kept / name)


def exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2``); False where the system cannot."""
    try:
        rename = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    return rename(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block is done (where the system can hold them)."""
    held, mask = {signal.SIGINT, signal.SIGTERM}, getattr(signal, "pthread_sigmask", None)
    if mask:
        mask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if mask:
            mask(signal.SIG_UNBLOCK, held)


def swap(a: Path, b: Path) -> None:
    """Exchange two folders: in one step where the system can, else by renames with signals
    held (then only a crash between two renames can leave ``b`` missing, ``a`` + "-old" whole)."""
    if exchange(a, b):
        return
    aside = a.with_name(a.name + "-old")
    with signals_held():
        os.rename(b, aside)
        try:
            os.rename(a, b)
        except OSError:
            os.rename(aside, b)
            raise
        os.rename(aside, a)


def ship(directory: Path, weights: Path) -> list[str]:
    """Retire the shipped model to ``previous/`` and install DIR's; what was done, line by line.
    Everything is built in a folder beside ``weights``; ``weights`` changes only by the swap."""
    new, old = check_shipping(directory, weights)
    kept = weights / PREVIOUS / old["model_id"] if old else None
    done = [f"model {old['model_id']} " + (f"already in {kept}/, its copy in {weights}/ dropped"
            if kept.exists() else f"-> {kept}/")] if old else []
    stage = Path(tempfile.mkdtemp(prefix=".ship-", dir=weights.parent))
    try:
        fill(stage, directory, weights, new, old)
        check_model(stage)
        swap(stage, weights)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # after the swap: the old folder
    return done + [f"model {new['model_id']} installed from {directory} in {weights}/"]


def shipped(weights: Path) -> str:
    """Which model a weights folder holds, in words."""
    try:
        return f"model {read_meta(weights)['model_id']}"
    except (FormatError, KeyError):
        return "no model"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, help="a saved model folder with its graphs "
                   "(runs/NAME/best, or calibrate_level.py's copy)")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR,
                   help="the package's model folder (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        print("\n".join(ship(args.directory, args.weights_dir)))
    except Refused as e:
        print(f"ship_model: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # raised before the swap: the weights folder is as it was
        print(f"ship_model: {e} ({args.weights_dir} unchanged)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ship_model: interrupted; {args.weights_dir} holds {shipped(args.weights_dir)}",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
