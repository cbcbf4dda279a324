"""A training pack: speech for a machine that cannot read ``../shared`` (a lent GPU), in one
folder of bounded size.

The folder holds ``train.flac`` and ``valid.flac`` (the utterances of each set concatenated,
16-bit mono at the model's rate), ``train.tsv`` and ``valid.tsv`` (one row per utterance:
``samples``, ``speaker``) and ``pack.json`` (rate, hours, the manifest it came from). Held-out
speakers are chosen as ``scripts/train.py`` chooses them (``split_by_speaker``), so selection
on a pack's ``valid`` set is selection on held-out speakers. Training utterances are taken
round-robin over speakers (sorted, stable) until the FLAC files would pass the size limit.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .data import SpeechCorpus, list_utterances, round_robin, split_by_speaker

VALID_FILES = 48  # held-out utterances packed: model selection scores 3 s crops of them


def _write(folder: Path, name: str, corpus: SpeechCorpus, speakers: list[str]) -> int:
    """``NAME.flac`` and ``NAME.tsv``; the bytes written."""
    audio = folder / f"{name}.flac"
    sf.write(audio, corpus.audio.numpy(), corpus.sample_rate, subtype="PCM_16")
    with open(folder / f"{name}.tsv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["samples", "speaker"])
        w.writerows(zip(corpus.lengths.tolist(), speakers))
    return audio.stat().st_size + (folder / f"{name}.tsv").stat().st_size


def write_pack(manifest: Path, folder: Path, max_bytes: int, sample_rate: int,
               holdout: float = 0.05) -> dict:
    """Pack ``manifest``'s speech into ``folder``, at most ``max_bytes`` in all; its summary."""
    folder.mkdir(parents=True, exist_ok=True)
    train_utts, valid_utts = split_by_speaker(list_utterances(manifest), holdout)
    valid_utts = round_robin(valid_utts)[:VALID_FILES]
    spent = _write(folder, "valid", SpeechCorpus(valid_utts, sample_rate),
                   [u.speaker for u in valid_utts])
    order = round_robin(train_utts)
    everything = SpeechCorpus(order, sample_rate)
    # FLAC takes speech to about half its 16-bit size, so a byte holds about a sample: start a
    # little above that guess, then shrink until the files fit
    ends = torch.cumsum(everything.lengths, 0)
    count = min(len(order), 1 + int(torch.searchsorted(ends, int(1.2 * (max_bytes - spent)))))
    while True:
        part = SpeechCorpus.from_audio(everything.audio[: int(ends[count - 1])],
                                       everything.lengths[:count].tolist(), sample_rate)
        size = _write(folder, "train", part, [u.speaker for u in order[:count]])
        if spent + size <= max_bytes or count == 1:
            break
        count = max(1, int(count * (max_bytes - spent) / size * 0.98))
    summary = {"sample_rate": sample_rate, "source": str(manifest), "holdout": holdout,
               "train_files": count, "train_hours": round(part.hours, 3),
               "train_speakers": len({u.speaker for u in order[:count]}),
               "valid_files": len(valid_utts), "bytes": spent + size}
    (folder / "pack.json").write_text(json.dumps(summary, indent=1) + "\n")
    if spent + size > max_bytes:
        raise ValueError(f"one utterance and the held-out set take {spent + size} bytes, more "
                         f"than the {max_bytes} allowed")
    return summary


def read_pack(folder: Path) -> tuple[SpeechCorpus, SpeechCorpus]:
    """The training and held-out corpora of a pack."""
    rate = json.loads((folder / "pack.json").read_text())["sample_rate"]
    corpora = []
    for name in ("train", "valid"):
        audio, sr = sf.read(folder / f"{name}.flac", dtype="int16")
        if sr != rate:
            raise ValueError(f"{folder / name}.flac is at {sr} Hz, the pack says {rate}")
        with open(folder / f"{name}.tsv", newline="") as f:
            lengths = [int(r["samples"]) for r in csv.DictReader(f, delimiter="\t")]
        corpora.append(SpeechCorpus.from_audio(torch.from_numpy(np.ascontiguousarray(audio)),
                                               lengths, rate))
    return corpora[0], corpora[1]
