"""Quality under packet loss, offline: WB-PESQ of whole held-out utterances (the speakers
``scripts/train.py`` holds out) streamed frame by frame through ``StreamEncoder`` and
``StreamDecoder`` with random independent losses, each lost frame concealed two ways: repeating
the last codes (all a receiver can do when the next packet has not arrived yet) and with the
next frame's payload when it has (``StreamDecoder.conceal(upcoming)``). No network and no clock:
the same frames as ``scripts/stream_demo.py``'s receiver decodes, without its timing noise.
With opus-tools installed, Opus at the same bitrate (20 ms packets) beside it, its packets
dropped and concealed by ``opusdec --packet-loss`` (its own random draw, at the same rate).

    python scripts/loss_quality.py                      # the shipped model, 24 files
    python scripts/loss_quality.py codec/weights/previous/07acbb74de99226b --loss 0.05 0.2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from codec.evaluation.metrics import align, wb_pesq
from codec.evaluation.peers import OpusPeer, fit_length
from codec.runtime.engine import load_engine, shipped_engine
from codec.runtime.streaming import StreamDecoder, StreamEncoder
from compare_models import ROOT, heldout_files, read_clip


def stream(model, payloads: list[bytes], lost: np.ndarray, lookahead: bool) -> np.ndarray:
    """The decoder's output for ``payloads`` with ``lost`` frames concealed, aligned with the
    encoder's input (its ``delay`` dropped, the tail flushed)."""
    dec = StreamDecoder(model)
    out = []
    for i, payload in enumerate(payloads):
        if not lost[i]:
            out.append(dec.decode(payload))
            continue
        nxt = i + 1 < len(payloads) and not lost[i + 1]
        out.append(dec.conceal(payloads[i + 1] if lookahead and nxt else None))
    out.append(dec.flush())
    return np.concatenate(out)[dec.delay:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", type=Path, help="a saved model (default: the shipped one)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/train.tsv")
    p.add_argument("--holdout", type=float, default=0.05)
    p.add_argument("--files", type=int, default=24)
    p.add_argument("--kbps", type=float, default=6.0)
    p.add_argument("--loss", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    model = load_engine(args.model) if args.model else shipped_engine()
    files = heldout_files(args.data, args.holdout, args.files)
    if not files:
        p.error(f"no held-out utterances of 2-10 s in {args.data}")
    rate, hop = model.config.sample_rate, model.hop
    rng = np.random.default_rng(args.seed)
    opus = OpusPeer(args.kbps) if OpusPeer.is_available() else None
    rows: dict[float, dict[str, list[float]]] = {}
    for path in files:
        wav = read_clip(path, rate)
        wav = wav[: len(wav) // hop * hop]
        enc = StreamEncoder(model, args.kbps)
        payloads = [enc.encode(frame) for frame in wav.reshape(-1, hop)]
        ogg = opus.encode(wav) if opus else b""
        for loss in [0.0, *args.loss]:
            lost = rng.random(len(payloads)) < loss
            row = rows.setdefault(loss, {"lost": [], "repeat": [], "lookahead": [], "opus": []})
            row["lost"].append(lost.mean())
            for name in ("repeat", "lookahead"):
                out = stream(model, payloads, lost, name == "lookahead")
                row[name].append(wb_pesq(*align(wav, out[: len(wav)]), rate))
            if opus:
                out = fit_length(opus.decode(ogg, loss), len(wav))
                row["opus"].append(wb_pesq(*align(wav, out), rate))
    print(f"{len(files)} held-out utterances, {args.kbps:g} kbps, independent losses, "
          f"seed {args.seed}: WB-PESQ against the input, mean\n")
    print("| loss | frames lost | repeat the last codes | next payload when here | Opus |")
    print("|---:|---:|---:|---:|---:|")
    for loss, row in rows.items():
        peer = f"{np.mean(row['opus']):.3f}" if row["opus"] else "(no opus-tools)"
        print(f"| {loss:.0%} | {np.mean(row['lost']):.1%} | {np.mean(row['repeat']):.3f} | "
              f"{np.mean(row['lookahead']):.3f} | {peer} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
