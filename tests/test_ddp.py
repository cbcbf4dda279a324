"""scripts/train.py runs unchanged under torchrun: two CPU processes (gloo), a couple of steps."""

import subprocess
import sys

import torch

from conftest import ROOT
from test_train import make_corpus


def test_torchrun_two_processes(tmp_path):
    make_corpus(tmp_path / "data", 8)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "scripts" / "train.py"), "--data", str(tmp_path / "data"), "--run-dir", str(run),
           "--device", "cpu", "--threads", "1", "--steps", "2", "--batch-size", "2",
           "--crop-seconds", "0.2", "--warmup-steps", "1", "--log-every", "1", "--eval-every", "2",
           "--valid-items", "2", "--holdout", "0.34", "--adv-weight", "1", "--recipe", "none"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 and "disc" in state
    assert (run / "best" / "codec.pt").exists()
    rows = (run / "train.csv").read_text().splitlines()
    assert len(rows) == 3 and "adv/gen" in rows[0]  # header + 2 steps, written by rank 0 only
