"""scripts/stream_demo.py (issue 27.4): it runs in the runtime-only install (no torch), and a
child process that fails ends it at once with its error instead of leaving it waiting."""

import subprocess
import sys

import soundfile as sf

from conftest import ROOT

# Modules that shadow torch and torchaudio for the demo and its spawned children alike (the
# runtime-only install: `pip install .`)
NO_TORCH = 'raise ModuleNotFoundError("No module named {0!r}", name={0!r})\n'


def demo(tmp_path, *args, timeout: float = 120):
    blocked = tmp_path / "no_torch"
    blocked.mkdir(exist_ok=True)
    for name in ("torch", "torchaudio"):
        (blocked / f"{name}.py").write_text(NO_TORCH.format(name))
    return subprocess.run([sys.executable, "scripts/stream_demo.py", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={"PYTHONPATH": str(blocked), "OMP_NUM_THREADS": "1",
                               "PATH": "/usr/bin:/bin"})


def test_stream_demo_runs_without_torch(tmp_path):
    out = tmp_path / "out"
    p = demo(tmp_path, ROOT / "samples" / "male_201.flac", "--seconds", "1.5", "--out", out)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "WB-PESQ: left out (torch is not installed" in p.stdout, p.stdout
    assert "mouth-to-ear latency" in p.stdout
    assert sf.info(out / "received.wav").frames == sf.info(out / "sent.wav").frames == 24000


def test_a_failing_child_ends_the_demo_at_once(tmp_path):
    p = demo(tmp_path, ROOT / "samples" / "male_201.flac", "--seconds", "1", "--out",
             tmp_path / "out", "--model", tmp_path / "no_such_model", timeout=60)
    assert p.returncode == 1, p.stderr[-2000:]
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("stream_demo: error: the receiver process failed: ") \
        and "no_such_model" in last, p.stderr
