"""The runtime never imports torch: the CLI's every command and the library's runtime API run in
a process where importing torch (or torchaudio) fails."""

import subprocess
import sys

from conftest import ROOT

# Run first in the child: any import of torch raises, so a use anywhere fails loudly.
BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchaudio'):
            raise ModuleNotFoundError('torch imported by the runtime: ' + name,
                                      name=name.split('.')[0])
sys.meta_path.insert(0, _NoTorch())
"""

LIBRARY = BLOCK_TORCH + """
import numpy as np
import codec
wav = (0.1 * np.sin(np.arange(16000 * 2 + 77) * 0.05)).astype(np.float32)
data = codec.compress(wav, 44100, bitrate=3)
out, rate = codec.decompress(data)
enc, dec = codec.StreamEncoder(bitrate=6), codec.StreamDecoder()
frames = [dec.decode(enc.encode(f)) for f in wav[:3200].reshape(-1, enc.frame_size)]
frames.append(dec.decode(None))
enc.bitrate = 9
dec.decode(enc.encode(wav[:enc.frame_size]))
assert len(out) == int(np.ceil(len(wav) * rate / 44100)) and len(frames) == 11
print('ok', 'torch' in sys.modules)
"""

CLI = BLOCK_TORCH + """
import socket, sys, threading
from codec.__main__ import main
folder = sys.argv[1]
for args in (['--version'], ['--help']):
    try:
        main(args)
    except SystemExit as e:
        assert e.code == 0, (args, e.code)
for args in (['encode', 'samples/male_201.flac', folder + '/a.cdc'],
             ['info', folder + '/a.cdc'], ['decode', folder + '/a.cdc', folder + '/a.wav'],
             ['decode', folder + '/a.cdc', folder + '/b.flac', '--rate', 'original']):
    assert main(args) == 0, args
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
got = []
receiver = threading.Thread(target=lambda: got.append(main(
    ['receive', folder + '/r.wav', '--listen', f'127.0.0.1:{port}', '--idle', '1'])))
receiver.start()
import time; time.sleep(0.5)
assert main(['send', 'samples/male_201.flac', '--to', f'127.0.0.1:{port}', '--no-pace']) == 0
receiver.join(30)
assert got == [0], got
print('ok', 'torch' in sys.modules)
"""


def _run(script: str, *args) -> str:
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_library_runtime_runs_without_torch():
    assert _run(LIBRARY).split()[-2:] == ["ok", "False"]


def test_every_cli_command_runs_without_torch(tmp_path):
    assert _run(CLI, tmp_path).split()[-2:] == ["ok", "False"]


def test_load_model_without_torch_says_what_to_install():
    script = BLOCK_TORCH + """
import codec
try:
    codec.load_model()
except ModuleNotFoundError as e:
    print(e)
"""
    assert "pip install 'codec[train]'" in _run(script)


def test_version_and_help_build_without_numpy():
    """``codec --version`` and ``--help`` only build the parser: they import neither torch nor
    numpy (a tenth of a second of start-up here), nor the audio stack."""
    script = BLOCK_TORCH + """
import io, contextlib
from codec.__main__ import main
for args in (['--version'], ['--help']):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as e:
            assert e.code == 0, (args, e.code)
print('ok', sorted(m for m in ('numpy', 'soundfile', 'soxr', 'onnxruntime') if m in sys.modules))
"""
    assert _run(script).split()[-2:] == ["ok", "[]"]
