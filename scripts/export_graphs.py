#!/usr/bin/env python3
"""Export the runtime's ONNX graphs of a saved model into its folder and record them (file,
SHA-256, names, shapes) in its config.json; the weights and the model id do not change.
Training's export step does this for every best model; run it by hand for older folders.

    python scripts/export_graphs.py codec/weights
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from codec.model import CONFIG_FILE, load_model
from codec.model.export import save_graphs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, help="a saved model folder (codec.pt + config.json)")
    args = p.parse_args(argv)
    model = load_model(args.directory)
    path = args.directory / CONFIG_FILE
    meta = json.loads(path.read_text())
    meta.update(save_graphs(model, args.directory))
    path.write_text(json.dumps(meta, indent=2) + "\n")
    for role, d in meta["graphs"].items():
        size = (args.directory / d["file"]).stat().st_size
        print(f"{role}: {d['file']} {size / 1e6:.2f} MB sha256 {d['sha256'][:16]}...")
    print(f"model id {model.model_id.hex()} (unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
