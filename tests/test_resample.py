"""Resampling (libsoxr through ``codec.runtime.audio``): block-wise equals whole, lengths, tones
kept, bounded work for awkward rates, the model's rate untouched, and no torch in
``codec.runtime.audio``."""

import ast
import resource
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import soxr

from codec.errors import AudioInputError
from codec.formats import bitstream
from codec.runtime import api
from codec.runtime.audio import Resampler, check_signal, in_blocks, resample_blocks

from conftest import ROOT, speech_like

RATES = [(44100, 16000), (8000, 16000), (16000, 11025), (16000, 48000), (383999, 16000),
         (16000, 44100), (48000, 16000), (1000, 16000)]


def resampled(x: np.ndarray, orig: int, new: int, chunk: int | None) -> np.ndarray:
    blocks = [x] if chunk is None else in_blocks(x, chunk)
    out = list(resample_blocks(blocks, orig, new))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def ceil_length(n: int, orig: int, new: int) -> int:
    return -(-n * new // orig)


@pytest.mark.parametrize("orig,new", RATES)
def test_blockwise_equals_whole_bit_for_bit(orig, new):
    """One libsoxr stream over the blocks: measured bit-identical for any cut (chunks of 1, 7,
    1000 samples, random cuts with empty pieces) and equal to libsoxr's one-shot resample."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(orig // 4 + 123) * 0.3).astype(np.float32)
    whole = resampled(x, orig, new, None)
    assert len(whole) == ceil_length(len(x), orig, new)
    one_shot = soxr.resample(x, orig, new, "HQ")  # the rounded length; ours pads to the ceiling
    assert np.array_equal(whole[: len(one_shot)], one_shot)
    assert not whole[len(one_shot):].any()
    for chunk in (1, 7, 1000):
        assert np.array_equal(resampled(x, orig, new, chunk), whole), chunk
    cuts = np.sort(np.concatenate([rng.integers(0, len(x), 40)] * 2))  # doubled: empty pieces
    rs = Resampler(orig, new)
    got = np.concatenate([rs.push(p) for p in np.split(x, cuts)] + [rs.flush()])
    assert np.array_equal(got, whole)


@pytest.mark.parametrize("orig,new", RATES + [(384000, 1000), (1000, 384000), (44101, 16001)])
@pytest.mark.parametrize("n", [0, 1, 2, 319, 4410, 44101])
def test_output_length_is_the_rounded_up_ratio(orig, new, n):
    x = np.full(n, 0.25, np.float32)
    y = resampled(x, orig, new, 1000)
    assert len(y) == ceil_length(n, orig, new) and y.dtype == np.float32


def test_push_after_flush_is_refused():
    rs = Resampler(44100, 16000)
    rs.push(np.zeros(100, np.float32))
    rs.flush()
    assert len(rs.flush()) == 0
    with pytest.raises(RuntimeError, match="after flush"):
        rs.push(np.zeros(10, np.float32))


@pytest.mark.parametrize("orig,new", [(44100, 16000), (16000, 48000), (8000, 16000),
                                      (16000, 11025), (383999, 16000)])
def test_a_tone_keeps_its_frequency_level_and_time(orig, new):
    """1 kHz at -6 dBFS: the same frequency, level within 0.1 dB, and no delay (libsoxr removes
    its filter's delay: the output is the ideal tone at the new rate, to 1e-4)."""
    x = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(2 * orig) / orig)).astype(np.float32)
    y = resampled(x, orig, new, int(0.2 * orig)).astype(np.float64)
    assert len(y) == 2 * new
    mid = y[new // 2: -(new // 2)]  # away from the edges, where the filter sees the zeros around
    level_db = 20 * np.log10(np.sqrt(np.mean(mid ** 2)) * np.sqrt(2) / 0.5)
    assert abs(level_db) < 0.1, level_db
    s = np.signbit(mid)
    i = np.nonzero(s[1:] != s[:-1])[0]
    crossings = i + mid[i] / (mid[i] - mid[i + 1])  # interpolated zero crossings
    freq = (len(crossings) - 1) / 2 / ((crossings[-1] - crossings[0]) / new)
    assert abs(freq - 1000) < 0.01, freq
    ideal = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(y)) / new)
    assert np.abs(y - ideal)[new // 2: -(new // 2)].max() < 1e-4


@pytest.mark.parametrize("orig,new", [(383999, 16000), (16000, 383999), (44101, 16001),
                                      (16000, 47999), (1000, 384000), (384000, 1000)])
def test_awkward_ratios_take_bounded_time_and_memory(orig, new):
    """10 s in 5 s blocks: small-gcd rates built torchaudio a gigabyte kernel. libsoxr takes
    about 0.04 CPU-seconds and memory for the output block here."""
    x = (np.sin(np.arange(10 * orig) * 2 * np.pi * 440 / orig) * 0.5).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    n, peak = 0, 0.0
    for b in resample_blocks(in_blocks(x, 5 * orig), orig, new):
        n += len(b)
        peak = max(peak, float(np.abs(b).max()))
    cpu = time.process_time() - t0
    assert n == ceil_length(len(x), orig, new) and 0.4 < peak < 0.55
    assert cpu < 2.0, cpu
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_the_models_rate_is_not_touched(monkeypatch):
    def no_resampler(*args, **kwargs):
        raise AssertionError("a resampler was built for equal rates")
    monkeypatch.setattr(soxr, "ResampleStream", no_resampler)
    blocks = [np.arange(5, dtype=np.float32), np.zeros(0, np.float32), np.ones(3, np.float64)]
    out = list(resample_blocks(iter(blocks), 16000, 16000))
    assert len(out) == 2 and out[0] is blocks[0] and out[1] is blocks[2]  # the same arrays
    wav = speech_like(0.5)
    assert list(resample_blocks(in_blocks(wav, 1000), 16000, 16000))[3].base is wav


@pytest.mark.parametrize("rate,n", [(44100, 44137), (8000, 8001), (11025, 3 * 11025 + 7),
                                    (383999, 38411), (48000, 47999)])
def test_file_lengths_through_encode_and_decode(tiny_model, tmp_path, rate, n):
    src, cdc = tmp_path / "in.wav", tmp_path / "x.cdc"
    sf.write(src, speech_like(n / rate + 0.01, rate)[:n], rate, subtype="PCM_16")
    api.encode_file(src, cdc, 6, model=tiny_model)
    header = api.read_header(cdc.read_bytes(), tiny_model)
    assert (header.sample_rate, header.num_samples) == (rate, n)
    for name, out_rate, want in [
            ("orig.wav", "original", n),
            ("model.wav", None, bitstream.output_samples_for(n, rate, 16000)),
            ("48k.flac", 48000, n if rate == 48000 else
             bitstream.output_samples_for(header.output_samples, 16000, 48000))]:
        api.decode_file(cdc, tmp_path / name, rate=out_rate, model=tiny_model)
        info = sf.info(tmp_path / name)
        assert info.frames == want, name
        assert info.samplerate == {"original": rate, None: 16000}.get(out_rate, out_rate)


def test_check_signal_takes_a_torch_tensor_without_importing_torch():
    torch = pytest.importorskip("torch")
    t = torch.linspace(-1, 1, 9, requires_grad=True)
    x = check_signal(t)
    assert isinstance(x, np.ndarray) and np.array_equal(x, t.detach().numpy())
    assert check_signal(torch.zeros(4, 2)).shape == (4, 2)
    with pytest.raises(AudioInputError, match="dtype int64"):
        check_signal(torch.Size([3, 4]))  # a tuple from torch, not a tensor: as before
    with pytest.raises(AudioInputError, match="dtype int32"):
        check_signal(torch.zeros(3, dtype=torch.int32))


def test_audio_module_never_imports_torch():
    """Not at the top, not inside a function: parsed, then imported alone (the package's
    ``__init__`` skipped, since it loads the model)."""
    tree = ast.parse((ROOT / "codec" / "runtime" / "audio.py").read_text())
    names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in names if m.split(".")[0] in ("torch", "torchaudio")]
    probe = ("import sys, types\n"
             f"pkg = types.ModuleType('codec'); pkg.__path__ = [{str(ROOT / 'codec')!r}]\n"
             "sys.modules['codec'] = pkg\n"
             "import codec.runtime.audio\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchaudio')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
