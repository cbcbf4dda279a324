#!/usr/bin/env python3
"""Per-frame time of models' live graphs (one frame per call, one thread), side by side.

Each argument is a saved model folder, optionally with config changes after a colon
(``DIR:encoder_blocks=2,decoder_blocks=3,int8=true``: that shape, with the folder's weights
wherever they fit, ``train/transplant.py``). The encoder graph of ``--kbps`` and the decoder
graph of each are exported from the modules, then timed in turns (``--rounds`` x 0.5 s of CPU
time per graph), so a slow spell of a shared machine falls on all of them alike. It prints the
median and the minimum per call, and each model's encode + decode median over the first's.
Only the graphs: ``scripts/benchmark.py --candidate`` times whole streams beside Lyra.

    python scripts/graph_times.py codec/weights checkpoints/spec23L13 \\
        checkpoints/spec23L13:int8=false checkpoints/spec23L13:decoder_blocks=5
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def live_calls(model, kbps: float) -> dict:
    """Role -> (ONNX Runtime session, feeds) for one frame per call."""
    from codec.runtime.engine import Runner
    from codec.model.export import graph_for

    k = model.config.codebooks_for(kbps)
    calls = {}
    for role in (f"encoder{k}", "decoder"):
        graph = graph_for(model, role)
        runner = Runner(graph, {"frames": 1, "samples": model.hop})
        rng = np.random.default_rng(0)
        if role == "decoder":
            x = rng.integers(0, model.config.codebook_size, (k, 1)).astype(np.int64)
        else:
            x = (rng.standard_normal((1, 1, model.hop)) * 0.1).astype(np.float32)
        feeds = {graph.input_name: x}
        feeds.update({n: np.zeros(s, np.float32)
                      for n, s in zip(graph.state_inputs, graph.state_shapes)})
        calls["decoder" if role == "decoder" else "encoder"] = (runner.session, feeds)
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="DIR or DIR:field=value,...")
    parser.add_argument("--kbps", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from codec.train.transplant import load_variant

    calls = {spec: live_calls(load_variant(spec), args.kbps) for spec in args.models}
    times = {(spec, role): [] for spec in calls for role in ("encoder", "decoder")}
    for _ in range(args.rounds):
        for spec, roles in calls.items():
            for role, (session, feeds) in roles.items():
                start, n = time.process_time(), 0
                while time.process_time() - start < 0.5:
                    session.run(None, feeds)
                    n += 1
                times[spec, role].append((time.process_time() - start) / n * 1e3)
    first = None
    print("| model | encode median ms (min) | decode median ms (min) | enc+dec | / first |")
    print("|---|---:|---:|---:|---:|")
    for spec in calls:
        enc, dec = (np.array(times[spec, r]) for r in ("encoder", "decoder"))
        total = float(np.median(enc) + np.median(dec))
        first = first or total
        print(f"| {spec} | {np.median(enc):.3f} ({enc.min():.3f}) | {np.median(dec):.3f} "
              f"({dec.min():.3f}) | {total:.3f} | {total / first:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
