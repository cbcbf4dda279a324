#!/usr/bin/env python3
"""Write the listening page docs/listen/: each clip of samples/ beside the peers, with spectrograms.

For every clip in ``CLIPS`` (the originals live in samples/, see samples/README.md) the shipped
model encodes and decodes it at 1.5 / 3 / 6 / 9 kbps through the public API, and each installed
peer does the same: Lyra v2 at 3.2 / 6 / 9.2, Opus at 6 / 12, AMR-WB at 6.6 / 12.65 and Codec 2
at 3200 bit/s (a peer that is not installed is skipped, and the script and the page say so).
Every version is trimmed (or zero-padded) to the original's length and written as 16-bit FLAC
(lossless: a codec's output is never re-encoded by another lossy codec), labelled with its true
bitrate and its WB-PESQ and STOI against that clip's original. One spectrogram strip per clip
(one colour scale for every panel, the original first) and docs/listen/compare.png (one clip:
original / this codec 6 / Lyra v2 6 / Opus 6 / AMR-WB 6.6, shown in the README) go beside it.

    python scripts/make_samples.py          # re-run whenever a model ships

Everything it writes lies under docs/listen/; the files it wrote before are deleted first. It is
deterministic: the same model, peers and clips give the same page. A clip missing from samples/
is (re)made from ../shared/data (see ``make_clip``); ``--rebuild-clips`` remakes all of them.
"""

from __future__ import annotations

import argparse
import html
import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]

import codec
from codec.evaluation.metrics import log_mel_distance, stoi, wb_pesq
from codec.evaluation.peers import (AMRWBPeer, Codec2Peer, LyraPeer, OpusPeer,
                                    fit_length, lyra_missing_note)

SAMPLES = ROOT / "samples"
OUT = ROOT / "docs" / "listen"
DATA = ROOT.parent / "shared" / "data"
RATE = 16000
MIN_SECONDS, MAX_SECONDS = 4.0, 5.0
AUDIO_BUDGET, IMAGE_BUDGET = 8_000_000, 2_000_000  # bytes, from the issue

LIBRISPEECH = ("LibriSpeech ASR corpus (V. Panayotov, G. Chen, D. Povey, S. Khudanpur, ICASSP "
               "2015), CC BY 4.0, from the LibriSpeech subsets in the resemble-ai/Resemblyzer "
               "repository")
SPEECHOCEAN = ("speechocean762 (J. Zhang et al., Interspeech 2021, arXiv 2104.01378), CC BY 4.0, "
               "from the jimbozhang/speechocean762 repository")


@dataclass(frozen=True)
class Clip:
    name: str          # samples/NAME.flac
    source: str        # path under ../shared/data it was made from
    title: str         # one line for the page
    description: str   # what to listen for
    attribution: str
    trimmed: bool = False    # the source is longer than 5 s: cut in a pause (see quietest_cut)
    telephone: bool = False  # made phone-band: 8 kHz, 300-3400 Hz, back to 16 kHz


CLIPS = (
    Clip("male_201", "eval/librispeech-train-clean-100/201-122255-0000.flac",
         "Man, clean audiobook recording",
         "LibriSpeech speaker 201, utterance 201-122255-0000 (train-clean-100; in this project's "
         "eval set, never trained on).", LIBRISPEECH),
    Clip("male_2033", "eval/librispeech-test-other/2033-164914-0007.flac",
         "Man, silent background",
         "LibriSpeech speaker 2033, utterance 2033-164914-0007 (test-other; eval set).",
         LIBRISPEECH),
    Clip("female_1998", "eval/librispeech-test-other/1998-15444-0001.flac",
         "Woman, audiobook recording",
         "LibriSpeech speaker 1998, utterance 1998-15444-0001 (test-other, the harder half of "
         "LibriSpeech's test data; eval set).", LIBRISPEECH, trimmed=True),
    Clip("female_1363_noisy", "eval/librispeech-train-clean-100/1363-135842-0000.flac",
         "Woman, noisy recording",
         "LibriSpeech speaker 1363, utterance 1363-135842-0000 (train-clean-100; eval set): the "
         "noisiest file of the eval set, a steady hiss about 20 dB below the speech that never "
         "stops.", LIBRISPEECH, trimmed=True),
    Clip("child_so762_0113", "train/speechocean762/SPEAKER0113/001130073.flac",
         "Child, non-native English",
         "speechocean762 speaker 0113, utterance 001130073: a child (median pitch about 330 Hz "
         "over five of the speaker's utterances; the shared copy of the corpus has no age "
         "labels) reading English, Mandarin first language. The eval set holds no children, so "
         "this clip is from the training data: the codec has heard this speaker.", SPEECHOCEAN),
    Clip("telephone_3080", "eval/librispeech-test-other/3080-5032-0000.flac",
         "Woman, telephone band",
         "LibriSpeech speaker 3080, utterance 3080-5032-0000 (test-other; eval set), made "
         "phone-band: resampled to 8 kHz, band-passed to 300-3400 Hz and resampled back to "
         "16 kHz. It is the reference its versions are scored against.", LIBRISPEECH,
         telephone=True),
)
COMPARE_CLIP = "male_201"
COMPARE_SYSTEMS = ("original", "codec-6", "lyra-6", "opus-6", "amrwb-6.6")


# --- the clips --------------------------------------------------------------------------------

def quietest_cut(wav: np.ndarray) -> int:
    """Sample index to cut a clip longer than MAX_SECONDS: the middle of the quietest 20 ms
    window (10 ms steps) between MIN_SECONDS and MAX_SECONDS, so the cut falls in a pause."""
    frame, hop = 320, 160
    best, best_energy = int(MAX_SECONDS * RATE), np.inf
    for start in range(int(MIN_SECONDS * RATE), int(MAX_SECONDS * RATE) - frame + 1, hop):
        energy = float(np.mean(wav[start:start + frame].astype(np.float64) ** 2))
        if energy < best_energy:
            best, best_energy = start + frame // 2, energy
    return best


def telephone_band(wav: np.ndarray) -> np.ndarray:
    """8 kHz, 300-3400 Hz, back to 16 kHz: polyphase resampling through one 511-tap low-pass
    (3.7 kHz, Kaiser beta 10: images and aliases of 3.4 kHz speech about 100 dB down; torchaudio's
    default resampler leaves them 30 dB down, visible in a spectrogram) and an 8th-order
    Butterworth band-pass run forward and back (no delay)."""
    from scipy.signal import butter, firwin, resample_poly, sosfiltfilt

    lowpass = firwin(511, 3700, fs=RATE, window=("kaiser", 10.0))
    narrow = resample_poly(wav.astype(np.float64), 1, 2, window=lowpass)
    sos = butter(8, [300, 3400], btype="bandpass", fs=8000, output="sos")
    narrow = sosfiltfilt(sos, narrow)
    return fit_length(resample_poly(narrow, 2, 1, window=lowpass).astype(np.float32), len(wav))


def make_clip(clip: Clip, data: Path) -> None:
    """samples/NAME.flac from ../shared/data: the source file itself, or cut in a pause to at
    most 5 s and made phone-band if the clip says so, as 16-bit FLAC."""
    dest = SAMPLES / f"{clip.name}.flac"
    if not clip.trimmed and not clip.telephone:
        shutil.copyfile(data / clip.source, dest)
        print(f"copied {clip.source} to samples/{clip.name}.flac")
        return
    wav, rate = sf.read(data / clip.source, dtype="float32")
    if rate != RATE or wav.ndim != 1:
        raise SystemExit(f"{clip.source}: expected 16 kHz mono")
    if (len(wav) > MAX_SECONDS * RATE) != clip.trimmed:
        raise SystemExit(f"{clip.source}: {len(wav) / RATE:.2f} s, but trimmed={clip.trimmed}")
    if clip.trimmed:
        wav = wav[:quietest_cut(wav)]
    if clip.telephone:
        wav = telephone_band(wav)
    sf.write(dest, np.clip(wav, -1, 32767 / 32768), RATE, subtype="PCM_16", format="FLAC")
    print(f"made samples/{clip.name}.flac from {clip.source} ({len(wav) / RATE:.2f} s)")


# --- the systems ------------------------------------------------------------------------------

@dataclass
class System:
    key: str        # file name stem and HTML id
    family: str     # "This codec", "Lyra v2", ...
    kbps: float     # nominal
    runner: object  # has roundtrip(wav) and last_payload_bytes
    counted: str    # what the true bitrate counts


class CodecRunner:
    """This codec through the public API, at one bitrate."""

    def __init__(self, model, kbps: float):
        self.model, self.kbps, self.last_payload_bytes = model, kbps, 0

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        data = codec.compress(wav, RATE, self.kbps, model=self.model)
        self.last_payload_bytes = len(data)
        out, rate = codec.decompress(data, model=self.model)
        assert rate == RATE, rate
        return fit_length(out, len(wav))


def systems_here(model) -> tuple[list[System], list[str]]:
    """This codec at each bitrate and every installed peer, and a note for each peer skipped."""
    systems = [System(f"codec-{k:g}", "This codec", k, CodecRunner(model, k),
                      "the whole .cdc file, header included") for k in (1.5, 3, 6, 9)]
    notes = []
    if LyraPeer.is_available():
        systems += [System(f"lyra-{k:g}", "Lyra v2", k, LyraPeer(k), "its packets")
                    for k in (3.2, 6, 9.2)]
    else:
        notes.append(lyra_missing_note())
    if OpusPeer.is_available():
        systems += [System(f"opus-{k:g}", "Opus", k, OpusPeer(k), "its packets, no Ogg")
                    for k in (6, 12)]
    else:
        notes.append("Opus skipped: opusenc/opusdec not installed (Debian package opus-tools)")
    if AMRWBPeer.is_available():
        systems += [System(f"amrwb-{k:g}", "AMR-WB", k, AMRWBPeer(k),
                           "its speech frames, no magic or TOC bytes") for k in (6.6, 12.65)]
    else:
        notes.append("AMR-WB skipped: ffmpeg with libvo_amrwbenc not installed (Debian packages "
                     "ffmpeg and libavcodec-extra)")
    if Codec2Peer.is_available():
        systems.append(System("codec2-3.2", "Codec 2", 3.2, Codec2Peer(3200), "its bit file"))
    else:
        notes.append("Codec 2 skipped: c2enc/c2dec not installed (Debian package codec2)")
    return systems, notes


# --- spectrograms -----------------------------------------------------------------------------

N_FFT, HOP = 512, 128
DB_RANGE = 80.0  # dB shown below the loudest bin of the clip's original


def spectrogram_db(wav: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.asarray(wav, dtype=np.float32))
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs()
    return (20 * torch.log10(spec.clamp_min(1e-6))).numpy()


def draw_strip(panels: list[tuple[str, np.ndarray]], path: Path, columns: int,
               panel_inches: tuple[float, float], dpi: int) -> None:
    """Spectrogram panels in a grid, one colour scale for all: 0 dB is the loudest bin of the
    first panel (the original), DB_RANGE below it is black. Written as a palette PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    specs = [(label, spectrogram_db(w)) for label, w in panels]
    top = float(specs[0][1].max())
    rows = -(-len(specs) // columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(columns * panel_inches[0], rows * panel_inches[1]))
    seconds = len(panels[0][1]) / RATE
    for ax, (label, spec) in zip(axes.flat, specs):
        ax.imshow(spec - top, origin="lower", aspect="auto", cmap="magma", vmin=-DB_RANGE, vmax=0,
                  extent=(0, seconds, 0, RATE / 2000), interpolation="nearest")
        ax.set_title(label, fontsize=8, pad=2)
        ax.set_yticks([0, 2, 4, 6, 8])
        ax.tick_params(labelsize=6, length=2, pad=1)
    for ax in axes.flat[len(specs):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("kHz", fontsize=7, labelpad=1)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    plt.close(fig)
    image = Image.open(buf).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT,
                                                    dither=Image.Dither.NONE)
    image.save(path, optimize=True)


# --- the page ---------------------------------------------------------------------------------

CSS = """
:root { --line: #d9dce1; --muted: #5c6370; --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2025; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 0; }
p { margin: 6px 0; }
a { color: var(--accent); }
code { font-size: 13px; background: #eceef2; padding: 1px 4px; border-radius: 3px; }
.lead { color: var(--muted); max-width: 900px; }
nav { margin: 14px 0 4px; display: flex; flex-wrap: wrap; gap: 6px; }
nav a { background: #fff; border: 1px solid var(--line); border-radius: 14px; padding: 2px 10px;
        text-decoration: none; font-size: 13px; }
.overview { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left;
         vertical-align: middle; white-space: nowrap; }
thead th { background: #eef1f5; font-size: 12px; position: sticky; top: 0; }
table.overview-table td, table.overview-table th { font-size: 12px; padding: 3px 6px; }
table.overview-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
section.clip { background: #fff; border: 1px solid var(--line); border-radius: 8px;
               margin: 22px 0; padding: 16px 18px; }
.clip-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px;
             flex-wrap: wrap; }
.meta { color: var(--muted); font-size: 13px; }
.clip-body { display: grid; grid-template-columns: minmax(0, 600px) minmax(0, 1fr); gap: 18px;
             margin-top: 10px; align-items: start; }
table.systems { width: 100%; }
table.systems td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.systems tr.family-start td { border-top: 2px solid #c4c9d1; }
table.systems tr.original td { background: #fafbf2; }
table.systems tr.ours td, table.overview-table .ours { background: #eef4fd; }
td.sys { font-weight: 600; }
td.sys span { font-weight: 400; color: var(--muted); }
audio { width: 220px; height: 30px; display: block; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; border: 1px solid var(--line); }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.attribution { font-size: 12px; color: var(--muted); margin-top: 8px; }
.notes { background: #fff7e0; border: 1px solid #ecd58c; border-radius: 6px; padding: 6px 10px; }
footer { color: var(--muted); font-size: 13px; margin-top: 28px; }
@media (max-width: 1000px) { .clip-body { grid-template-columns: 1fr; } }
"""


def fmt(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def audio_tag(src: str, samples: int) -> str:
    return (f'<audio controls preload="metadata" src="{html.escape(src)}" data-samples="{samples}" '
            f'data-rate="{RATE}"></audio>')


def render_page(model_id: str, clips: list[dict], systems: list[System], notes: list[str],
                sizes: dict) -> str:
    e = html.escape
    families = list(dict.fromkeys(s.family for s in systems))
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>Listen: this codec beside Lyra v2, Opus, AMR-WB and Codec 2</title>",
           f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
           "<h1>Listen: this codec beside its peers</h1>",
           f'<p class="lead">Six clips of 4-5 s, each as the original and as decoded by this codec '
           f"at 1.5 / 3 / 6 / 9 kbps, Lyra v2 at 3.2 / 6 / 9.2, Opus at 6 / 12, AMR-WB at 6.6 / "
           f"12.65 and Codec 2 at 3.2 kbps. Every file is lossless 16-bit FLAC of exactly the "
           f"decoder's output (trimmed to the original's length), so what you hear is the codec, "
           f"not a second compression. Made from model <code id=\"model-id\">{e(model_id)}</code> "
           f"by <code>python scripts/make_samples.py</code>.</p>",
           f'<p class="lead">Beside each version: its <b>true</b> bitrate on that clip (bits '
           f"actually produced over the clip's duration; for this codec the whole .cdc file with "
           f"its header, so short clips pay a little more), and WB-PESQ (1.0-4.6) and STOI (0-1) "
           f"against that clip's original. One clip's scores say little; the means over the "
           f"160-file eval set are in the <a href=\"../../README.md#quality\">README</a>. "
           f"The spectrograms share one colour scale per clip (0 dB = the loudest bin of the "
           f"original, {DB_RANGE:g} dB below it black), so what a codec removes shows as dark.</p>"]
    if notes:
        out.append('<p class="notes">' + "<br>".join(e(n) for n in notes) + "</p>")
    out.append("<nav>" + "".join(f'<a href="#{c["name"]}">{e(c["title"])}</a>' for c in clips)
               + "</nav>")

    # Overview: one row per clip, one column per system (a header row naming the systems).
    out += ['<h2 style="margin-top:18px">At a glance</h2>',
            '<p class="meta">Each cell: WB-PESQ above, STOI below, against the clip\'s original.</p>',
            '<div class="overview"><table class="overview-table">', "<thead><tr><th>clip</th>"]
    ours = ' class="ours"'
    out += [f"<th{ours if s.family == 'This codec' else ''}>{e(s.family)}<br>{s.kbps:g}</th>"
            for s in systems]
    out.append("</tr></thead><tbody>")
    for c in clips:
        cells = "".join(f'<td class="num{" ours" if r["family"] == "This codec" else ""}">'
                        f'{fmt(r["pesq"], 2)}<br>{fmt(r["stoi"], 2)}</td>' for r in c["rows"][1:])
        out.append(f'<tr><td><a href="#{c["name"]}">{e(c["title"])}</a></td>{cells}</tr>')
    out.append("</tbody></table></div>")

    for c in clips:
        out += [f'<section class="clip" id="{c["name"]}">', '<div class="clip-head">',
                f'<h2>{e(c["title"])}</h2>',
                f'<span class="meta">{c["seconds"]:.2f} s &middot; <code>samples/{c["name"]}.flac'
                f"</code></span>", "</div>", f'<p>{e(c["description"])}</p>',
                '<div class="clip-body">', '<table class="systems">',
                "<thead><tr><th>system</th><th>kbps<br>(true)</th><th>WB-PESQ</th><th>STOI</th>"
                "<th>listen</th></tr></thead><tbody>"]
        previous = None
        for r in c["rows"]:
            classes = []
            if r["family"] != previous:
                classes.append("family-start")
            if r["key"] == "original":
                classes.append("original")
            if r["family"] == "This codec":
                classes.append("ours")
            previous = r["family"]
            if r["key"] == "original":
                label, kbps = "Original", "&ndash;"
            else:
                label = f'{e(r["family"])} <span>{r["kbps"]:g} kbps</span>'
                kbps = fmt(r["true_kbps"], 2)
            out.append(f'<tr class="{" ".join(classes)}" data-system="{r["key"]}">'
                       f'<td class="sys">{label}</td><td class="num">{kbps}</td>'
                       f'<td class="num">{fmt(r.get("pesq"), 2) if r["key"] != "original" else "&ndash;"}</td>'
                       f'<td class="num">{fmt(r.get("stoi"), 3) if r["key"] != "original" else "&ndash;"}</td>'
                       f'<td>{audio_tag(r["src"], r["samples"])}</td></tr>')
        out += ["</tbody></table>", "<figure>",
                f'<img src="{c["image"]}" alt="Spectrograms of {e(c["title"])}: the original, '
                f'then each system in the order of the table" loading="lazy">',
                "<figcaption>Spectrograms, 0-8 kHz, in the order of the table (original first), "
                "one colour scale.</figcaption>", "</figure>", "</div>",
                f'<p class="attribution">Source: {e(c["attribution"])}. Changes: '
                f'{e(c["changes"])}. The decoded versions are derived works under the same '
                f"licence (CC BY 4.0).</p>", "</section>"]

    out += ["<footer>",
            f"<p>True bitrates count: {e('; '.join(f'{f}: ' + next(s.counted for s in systems if s.family == f) for f in families))}.</p>",
            "<p>Peers: Lyra v2 1.3.2 TFLite models run frame by frame; Opus (libopus via "
            "opus-tools) with <code>--hard-cbr --framesize 20</code>; AMR-WB with ffmpeg's "
            "<code>libvo_amrwbenc</code> (DTX off) and ffmpeg's decoder, its 95-sample delay "
            "removed; Codec 2 3200 at 8 kHz, resampled. Details in "
            "<code>codec/evaluation/peers.py</code>.</p>",
            f"<p>Page size: audio {sizes['audio'] / 1e6:.2f} MB, images "
            f"{sizes['images'] / 1e6:.2f} MB. No scripts, nothing fetched from elsewhere.</p>",
            "</footer>", "</main>", "</body>", "</html>", ""]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------------------

def wipe(out: Path) -> None:
    """Delete what an earlier run wrote (only these names: the folder is this script's)."""
    for sub in ("audio", "img"):
        if (out / sub).is_dir():
            shutil.rmtree(out / sub)
    for name in ("index.html", "compare.png"):
        (out / name).unlink(missing_ok=True)


def write_flac(path: Path, wav: np.ndarray) -> int:
    sf.write(path, np.clip(wav, -1, 32767 / 32768), RATE, subtype="PCM_16", format="FLAC")
    return sf.info(path).frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="shared data, for clips missing from samples/ (default: %(default)s)")
    parser.add_argument("--rebuild-clips", action="store_true",
                        help="remake every samples/ clip from --data first")
    parser.add_argument("--out", type=Path, default=OUT, help="page folder (default: %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    for clip in CLIPS:
        if args.rebuild_clips or not (SAMPLES / f"{clip.name}.flac").is_file():
            make_clip(clip, args.data)

    model = codec.load_model()
    model_id = model.model_id.hex()
    print(f"model {model_id}")
    systems, notes = systems_here(model)
    for note in notes:
        print(f"Note: {note}")

    out = args.out
    wipe(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "img").mkdir(parents=True, exist_ok=True)

    clips, compare_panels = [], None
    for clip in CLIPS:
        src = SAMPLES / f"{clip.name}.flac"
        wav, rate = sf.read(src, dtype="float32")
        if rate != RATE or wav.ndim != 1:
            raise SystemExit(f"{src}: expected 16 kHz mono")
        seconds = len(wav) / RATE
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise SystemExit(f"{src}: {seconds:.2f} s, outside {MIN_SECONDS}-{MAX_SECONDS} s")
        folder = out / "audio" / clip.name
        folder.mkdir()
        shutil.copyfile(src, folder / "original.flac")  # the original's own bytes
        rows = [{"key": "original", "family": "Original", "kbps": None,
                 "src": f"audio/{clip.name}/original.flac", "samples": len(wav)}]
        panels = [("Original", wav)]
        for system in systems:
            deg = fit_length(system.runner.roundtrip(wav), len(wav))
            true_kbps = 8 * system.runner.last_payload_bytes / seconds / 1000
            frames = write_flac(folder / f"{system.key}.flac", deg)
            deg = sf.read(folder / f"{system.key}.flac", dtype="float32")[0]  # score what is heard
            row = {"key": system.key, "family": system.family, "kbps": system.kbps,
                   "true_kbps": true_kbps, "pesq": wb_pesq(wav, deg), "stoi": stoi(wav, deg),
                   "log_mel": log_mel_distance(wav, deg),
                   "src": f"audio/{clip.name}/{system.key}.flac", "samples": frames}
            rows.append(row)
            panels.append((f"{system.family} {system.kbps:g} kbps", deg))
            print(f"{clip.name:18s} {system.family:10s} {system.kbps:5g} kbps: true "
                  f"{true_kbps:5.2f}, WB-PESQ {fmt(row['pesq'], 2)}, STOI {fmt(row['stoi'], 3)}, "
                  f"log-mel {row['log_mel']:.3f}")
        image = f"img/{clip.name}.png"
        draw_strip(panels, out / image, columns=3, panel_inches=(1.85, 1.05), dpi=100)
        if clip.name == COMPARE_CLIP:
            by_key = dict(zip(["original"] + [s.key for s in systems], panels))
            compare_panels = [by_key[k] for k in COMPARE_SYSTEMS if k in by_key]
        changes = [f"trimmed to its first {seconds:.2f} s (cut in a pause)"] if clip.trimmed else []
        if clip.telephone:
            changes.append("made phone-band (8 kHz, 300-3400 Hz, back to 16 kHz)")
        clips.append({"name": clip.name, "title": clip.title, "description": clip.description,
                      "attribution": clip.attribution, "seconds": seconds, "rows": rows,
                      "image": image, "changes": "; ".join(changes) or "none (the corpus's file as it is)"})
    if compare_panels:
        draw_strip(compare_panels, out / "compare.png", columns=len(compare_panels),
                   panel_inches=(1.9, 1.35), dpi=100)

    audio = sum(p.stat().st_size for p in (out / "audio").rglob("*.flac"))
    images = sum(p.stat().st_size for p in out.rglob("*.png"))
    page = render_page(model_id, clips, systems, notes, {"audio": audio, "images": images})
    (out / "index.html").write_text(page)
    total = audio + images + (out / "index.html").stat().st_size
    print(f"\nwrote {out}: audio {audio / 1e6:.2f} MB, images {images / 1e6:.2f} MB, "
          f"{total / 1e6:.2f} MB in all")
    mean6 = np.mean([r["log_mel"] for c in clips for r in c["rows"] if r["key"] == "codec-6"])
    print(f"mean log-mel distance of this codec at 6 kbps over the clips: {mean6:.3f}")
    if audio > AUDIO_BUDGET or images > IMAGE_BUDGET:
        print("over budget: audio at most 8 MB, images at most 2 MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
