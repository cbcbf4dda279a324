"""The GPU path: a training pack of bounded size, read back exactly, and scripts/train_gpu.py
trained from it for a few steps (on the CPU here), its best model written where asked; a run
that never quantizes is scored on its latent; a wall-clock budget ends a run."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf
import torch

from codec.train.data import SpeechCorpus, list_utterances, split_by_speaker
from codec.train.loop import TrainConfig, Trainer
from codec.train.pack import read_pack, write_pack

from conftest import TINY, speech_like

ROOT = Path(__file__).resolve().parents[1]
SPECTRAL = ("encoder=spectral decoder=spectral hop_size=320 width=16 encoder_blocks=1 "
            "decoder_blocks=1 dim=16 code_dim=4 num_codebooks=18 codebook_size=1024").split()


def manifest(folder: Path, speakers: int = 40, per_speaker: int = 2) -> Path:
    """A .tsv of short speech-like files; with 40 speakers, 5 % held out leaves a few."""
    rows = []
    for s in range(speakers):
        for i in range(per_speaker):
            path = folder / f"spk{s}" / f"u{i}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, speech_like(0.8 + 0.1 * i, 16000, seed=s * 10 + i), 16000)
            rows.append({"path": str(path.relative_to(folder)), "speaker": f"spk{s}"})
    out = folder / "train.tsv"
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "speaker"], delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    return out


def test_a_pack_holds_held_out_speakers_apart_and_fits_its_limit(tmp_path):
    data = manifest(tmp_path / "data")
    full = write_pack(data, tmp_path / "full", 10 ** 8, 16000)
    train, valid = read_pack(tmp_path / "full")
    utts, held = split_by_speaker(list_utterances(data), 0.05)
    assert held and full["train_files"] == len(utts) == len(train)
    assert len(valid) == min(len(held), 48)
    first = sorted(utts, key=lambda u: str(u.path))[0]  # spk0/u0: first in the round robin
    want = SpeechCorpus([first]).audio
    assert torch.equal(train.audio[: len(want)], want)  # 16-bit FLAC: exact
    limit = full["bytes"] // 2
    small = write_pack(data, tmp_path / "small", limit, 16000)
    size = sum(p.stat().st_size for p in (tmp_path / "small").iterdir() if p.suffix != ".json")
    assert size == small["bytes"] <= limit and 0 < small["train_files"] < full["train_files"]
    # round robin over speakers: a half-size pack still has (nearly) every training speaker
    assert small["train_speakers"] >= 0.8 * full["train_speakers"]


def test_train_gpu_script_trains_from_a_pack_and_writes_its_best(tmp_path):
    data = manifest(tmp_path / "data", speakers=24, per_speaker=1)
    script = str(ROOT / "scripts/train_gpu.py")
    subprocess.run([sys.executable, script, "pack", str(tmp_path / "pack"), "--data", str(data),
                    "--holdout", "0.2"], check=True, capture_output=True)
    pack = json.loads((tmp_path / "pack" / "pack.json").read_text())
    assert pack["train_files"] > 0 and pack["valid_files"] > 0
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, script, "train", str(tmp_path / "pack"), "--minutes",
                           "60", "--steps", "3", "--run-dir", str(run), "--device", "cpu",
                           "--batch-size", "2", "--crop-seconds", "0.4", "--valid-items", "2",
                           "--eval-every", "3", "--threads", "1", "--model", *SPECTRAL],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads((run / "best" / "config.json").read_text())
    assert saved["training"]["step"] == 3 and saved["training"]["wall_minutes"] == 60
    assert saved["training"]["recon_loss"] == "compressed"  # the recipe's, not the default
    assert saved["graphs"]  # the shipped format, graphs included


def test_an_unquantized_run_is_scored_on_its_latent_and_a_wall_budget_ends_it(tmp_path):
    corpus = SpeechCorpus(list_utterances(manifest(tmp_path / "data", 3, 1)))
    cfg = TrainConfig(steps=10 ** 6, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=2,
                      warmup_steps=1, ae_warmup=1.0, wall_minutes=1e-9)
    trainer = Trainer(tmp_path / "run", corpus, corpus, cfg, TINY)
    trainer.run()
    assert trainer.step == 1  # the first step used up the budget
    header = (tmp_path / "run" / "valid.csv").read_text().splitlines()[0].split(",")
    assert "valid/log_mel@latent" in header and not any("@6" in h for h in header)


def test_ctrl_c_saves_a_checkpoint_and_exits_130_without_a_traceback(tmp_path):
    """Ctrl-C (or SIGTERM: 143) during training waits for the step to end, saves the checkpoint
    of the steps done, and says where to resume from in one line."""
    import signal
    import time
    data = manifest(tmp_path / "data", speakers=6, per_speaker=1)
    for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        run = tmp_path / f"run{status}"
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts/train.py"), "--data", str(data), "--run-dir",
             str(run), "--device", "cpu", "--threads", "1", "--steps", "100000",
             "--batch-size", "2", "--crop-seconds", "0.4", "--log-every", "1",
             "--eval-every", "100000", "--holdout", "0", "--recipe", "none",
             "--model", *SPECTRAL],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        log, start = run / "train.csv", time.time()
        while (not log.exists() or len(log.read_text().splitlines()) < 3) and \
                time.time() - start < 300 and proc.poll() is None:
            time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == status, err[-2000:]
        assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted")
        saved = torch.load(run / "checkpoint.pt", weights_only=True)
        logged = int(log.read_text().splitlines()[-1].split(",")[0])
        assert saved["step"] >= logged >= 2  # the run resumes where it stopped
