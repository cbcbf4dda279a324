"""Training data: speech held in memory, random crops and augmentation, all batched.

The whole corpus is one int16 tensor (2.2 h of speech at the shipped rate is about 250 MB), so a batch is a
single gather: no per-sample Python work and no data-loader processes.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf
import torch
from torchaudio import functional as AF

from ..model import CodecConfig
from ..runtime.audio import INT16_SCALE, list_audio_files, to_int16



@dataclass
class Utterance:
    path: Path
    speaker: str


def list_utterances(source: str | Path) -> list[Utterance]:
    """Files from a ``.tsv`` manifest (path relative to its folder, speaker column) or a folder."""
    source = Path(source)
    if source.suffix == ".tsv":
        with open(source, newline="") as f:
            rows = csv.DictReader(f, delimiter="\t")
            return [Utterance(source.parent / r["path"], r.get("speaker") or r["path"])
                    for r in rows]
    return [Utterance(p, p.parent.name) for p in list_audio_files(source)]


def split_by_speaker(utts: list[Utterance], holdout: float) -> tuple[list, list]:
    """Deterministic train / held-out split by speaker (a stable hash of the speaker name)."""
    def held(u: Utterance) -> bool:
        return zlib.crc32(u.speaker.encode()) % 1000 < holdout * 1000
    return [u for u in utts if not held(u)], [u for u in utts if held(u)]


def split_sources(main: list[Utterance], extras: list[list[Utterance]],
                  holdout: float) -> tuple[list, list]:
    """Training and held-out files of ``main``, the training files of each of ``extras`` added:
    their held-out speakers stay out of training too, and the held-out set (which selects the
    model) stays ``main``'s alone, so that runs with and without the extras compare."""
    train, held = split_by_speaker(main, holdout)
    for extra in extras:
        train += split_by_speaker(extra, holdout)[0]
    return train, held


def round_robin(utts: list[Utterance]) -> list[Utterance]:
    """Every speaker's first utterance (by path), then every speaker's second, ...: speakers
    sorted by name, so the order is stable."""
    by_speaker: dict[str, list[Utterance]] = {}
    for u in sorted(utts, key=lambda u: str(u.path)):
        by_speaker.setdefault(u.speaker, []).append(u)
    queues = [v for _, v in sorted(by_speaker.items())]
    order, rank = [], 0
    while any(len(q) > rank for q in queues):
        order += [q[rank] for q in queues if len(q) > rank]
        rank += 1
    return order


class SpeechCorpus:
    """Utterances concatenated into one int16 tensor, resampled to ``sample_rate``."""

    def __init__(self, utts: list[Utterance], sample_rate: int = CodecConfig.sample_rate,
                 progress=None):
        chunks, lengths = [], []
        for u in (progress(utts) if progress else utts):
            data, sr = sf.read(u.path, dtype="float32", always_2d=True)
            wav = torch.from_numpy(data.mean(axis=1))
            if sr != sample_rate:
                wav = AF.resample(wav, sr, sample_rate)
            chunks.append(torch.from_numpy(to_int16(wav.numpy())))  # as the pack's int16 reads
            lengths.append(len(wav))
        self._hold(torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.int16), lengths,
                   sample_rate)

    def _hold(self, audio: torch.Tensor, lengths: list[int], sample_rate: int) -> None:
        self.audio = audio
        self.lengths = torch.tensor(lengths, dtype=torch.long)
        self.starts = torch.cumsum(self.lengths, 0) - self.lengths
        self.sample_rate = sample_rate

    @classmethod
    def from_audio(cls, audio: torch.Tensor, lengths: list[int],
                   sample_rate: int) -> "SpeechCorpus":
        """Utterances already concatenated: int16 ``audio`` and each one's length in samples
        (a training pack, ``pack.py``)."""
        if sum(lengths) != len(audio):
            raise ValueError(f"lengths add up to {sum(lengths)} samples, the audio has "
                             f"{len(audio)}")
        corpus = cls.__new__(cls)
        corpus._hold(audio.to(torch.int16), list(lengths), sample_rate)
        return corpus

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def hours(self) -> float:
        return len(self.audio) / self.sample_rate / 3600

    def crops(self, batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
        """``batch`` random crops of ``length`` samples, ``[B, 1, length]`` float in [-1, 1].

        Utterances are drawn in proportion to their length; short ones are zero-padded.
        """
        pick = torch.multinomial(self.lengths.double(), batch, replacement=True,
                                 generator=generator)
        room = (self.lengths[pick] - length).clamp(min=0)
        offset = (torch.rand(batch, generator=generator) * (room + 1)).long()
        pos = self.starts[pick, None] + offset[:, None] + torch.arange(length)
        valid = pos < (self.starts[pick] + self.lengths[pick])[:, None]
        wav = self.audio[pos.clamp(max=len(self.audio) - 1)].float() / INT16_SCALE * valid
        return wav[:, None]


@dataclass
class Augment:
    """Random level and telephone-band simulation, applied to a whole batch at once; optionally
    LPCNet's augmentation too (its ``dump_data.c``): a random second-order pole-zero filter on
    every crop (each coefficient uniform in +-``filter_range``, so the filter is always stable),
    a random polarity, and a little white noise at a random SNR. Options that are off draw no
    random numbers, so a run's batches do not depend on them."""

    min_peak_db: float = -40.0   # peak level range after normalisation
    max_peak_db: float = -1.0
    telephone_prob: float = 0.15  # chance of a 3.4-4 kHz low-pass (8 kHz speech upsampled)
    filter_range: float = 0.0    # > 0: the random filter, coefficients within +-this (LPCNet 3/8)
    random_polarity: bool = False
    noise_snr_db: tuple[float, ...] = ()  # (low, high): white noise at an SNR drawn between
    sample_rate: int = field(default=CodecConfig.sample_rate, kw_only=True)  # the audio's

    def __call__(self, wav: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b = wav.shape[0]
        if self.telephone_prob > 0:
            phone = torch.rand(b, generator=generator) < self.telephone_prob
            if phone.any():
                cutoff = 3400 + 600 * float(torch.rand(1, generator=generator))
                low = AF.lowpass_biquad(AF.lowpass_biquad(wav[phone], self.sample_rate, cutoff),
                                        self.sample_rate, cutoff)
                wav = wav.clone()
                wav[phone] = low
        if self.filter_range > 0:
            wav = self._random_filter(wav, generator)
        if self.random_polarity:
            wav = wav * (torch.randint(0, 2, (b, 1, 1), generator=generator) * 2 - 1)
        peak = wav.abs().amax(dim=-1, keepdim=True).clamp(min=1e-4)
        db = self.min_peak_db + (self.max_peak_db - self.min_peak_db) * torch.rand(
            b, 1, 1, generator=generator)
        wav = wav / peak * torch.pow(10.0, db / 20)
        if self.noise_snr_db:
            low, high = self.noise_snr_db
            snr = low + (high - low) * torch.rand(b, 1, 1, generator=generator)
            rms = wav.pow(2).mean(-1, keepdim=True).sqrt()
            noise = torch.randn(wav.shape, generator=generator)
            wav = wav + noise * rms * torch.pow(10.0, -snr / 20)
        return wav

    def _random_filter(self, wav: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(1 + a1 z^-1 + a2 z^-2) / (1 + b1 z^-1 + b2 z^-2)``, one draw per crop. Stable: the
        poles of ``1 + b1 z^-1 + b2 z^-2`` lie inside the unit circle while ``|b2| < 1`` and
        ``|b1| < 1 + b2``, which coefficients within +-3/8 (or any range under 1/2) keep."""
        b = wav.shape[0]
        coef = (torch.rand(b, 4, generator=generator) * 2 - 1) * self.filter_range
        ones = torch.ones(b, 1)
        numerator, denominator = torch.cat([ones, coef[:, :2]], 1), torch.cat([ones, coef[:, 2:]], 1)
        out = AF.lfilter(wav[:, 0], denominator, numerator, clamp=False, batching=True)
        return out[:, None]


# The augmentations a run can name (TrainConfig.augment); LPCNet's noise is not specified by its
# paper, so "a little" here is 30-50 dB below the speech.
AUGMENTATIONS = {
    "basic": {},
    "lpcnet": {"filter_range": 0.375, "random_polarity": True, "noise_snr_db": (30.0, 50.0)},
}


def fixed_crops(corpus: SpeechCorpus, count: int, length: int, seed: int = 0) -> torch.Tensor:
    """The same ``count`` crops every time: a stable validation batch."""
    g = torch.Generator().manual_seed(seed)
    return corpus.crops(count, length, g)

