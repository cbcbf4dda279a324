"""Tests of the evaluation metrics and peer codecs (peers skip when their tools are missing)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codec.evaluation import metrics
from codec.evaluation.metrics import align, log_mel_distance, score, si_sdr, stoi, wb_pesq
from codec.evaluation.peers import (Codec2Peer, LyraPeer, OpusPeer, evaluation_peers,
                                    fit_length)

SR = 16000
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def speech_like(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Voiced, syllable-like test signal: harmonics of a gliding 100-200 Hz f0 shaped by two
    formant bumps, under a 4 Hz on/off envelope, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = np.zeros_like(t)
    for k in range(1, 40):
        freq = k * f0
        gain = np.exp(-((freq - 600) / 300) ** 2) + 0.5 * np.exp(-((freq - 1800) / 500) ** 2) + 0.02
        x += np.where(freq < SR / 2, gain, 0) * np.sin(k * phase)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    x = x * envelope + 0.003 * rng.standard_normal(len(t))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def lag_of(ref: np.ndarray, out: np.ndarray, max_lag: int = 400) -> int:
    """Lag (samples) of ``out`` behind ``ref`` that maximises their cross-correlation."""
    n = min(len(ref), len(out))
    spec = np.fft.rfft(out[:n], 2 * n) * np.conj(np.fft.rfft(ref[:n], 2 * n))
    corr = np.fft.irfft(spec)
    window = np.concatenate([corr[-max_lag:], corr[: max_lag + 1]])
    return int(np.argmax(window)) - max_lag


def eval_speech(seconds: float = 4.0) -> np.ndarray:
    manifest = SHARED / "data" / "eval.tsv"
    if not manifest.is_file():
        pytest.skip("no ../shared/data/eval.tsv")
    first = manifest.read_text().splitlines()[1].split("\t")[0]
    wav, sr = sf.read(str(manifest.parent / first), dtype="float32")
    assert sr == SR
    return wav[: int(seconds * SR)]


# --- metrics ------------------------------------------------------------------------------

def test_align_trims_to_shorter():
    a, b = align(np.ones(100), np.ones(90, dtype=np.float32))
    assert len(a) == len(b) == 90 and a.dtype == b.dtype == np.float64


def test_identical_signals():
    x = speech_like()
    assert log_mel_distance(x, x) == 0.0
    assert si_sdr(x, x) > 60
    assert si_sdr(x, 0.5 * x) > 60  # scale-invariant


def test_noise_degrades_monotonically():
    x = speech_like()
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(len(x)).astype(np.float32)
    scores = [score(x, x + level * noise) for level in (0.003, 0.01, 0.03, 0.1)]
    for better, worse in zip(scores, scores[1:]):
        assert worse.log_mel > better.log_mel
        assert worse.si_sdr < better.si_sdr
        if better.pesq is not None and worse.pesq is not None:
            assert worse.pesq < better.pesq
        if better.stoi is not None:
            assert worse.stoi < better.stoi


def test_length_mismatch_uses_common_part():
    x = speech_like(seed=2)
    y = x + 0.01 * np.random.default_rng(3).standard_normal(len(x)).astype(np.float32)
    longer = np.concatenate([y, np.ones(500, np.float32)])
    assert log_mel_distance(x, longer) == pytest.approx(log_mel_distance(x, y))
    assert si_sdr(longer, x) == pytest.approx(si_sdr(y, x))


def test_optional_metrics_return_none_without_packages(monkeypatch):
    x = speech_like(1.0)
    monkeypatch.setitem(sys.modules, "pesq", None)
    monkeypatch.setitem(sys.modules, "pystoi", None)
    assert wb_pesq(x, x) is None and stoi(x, x) is None
    s = metrics.score(x, x)
    assert s.pesq is None and s.stoi is None and s.log_mel == 0.0


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_pesq_none_on_silence():
    pytest.importorskip("pesq")
    silence = np.zeros(SR * 2, np.float32)
    assert wb_pesq(silence, silence) is None


# --- peers --------------------------------------------------------------------------------

def test_fit_length():
    assert np.array_equal(fit_length(np.ones(3), 5), [1, 1, 1, 0, 0])
    assert len(fit_length(np.ones(8), 5)) == 5


@pytest.mark.skipif(not OpusPeer.is_available(), reason="opusenc/opusdec not installed")
@pytest.mark.parametrize("kbps", [6, 12])
def test_opus_roundtrip_length_alignment_bitrate(kbps):
    x = speech_like(seed=4)[: SR * 3 - 123]  # not a whole number of frames
    peer = OpusPeer(kbps)
    y = peer.roundtrip(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert abs(lag_of(x, y)) <= 2
    true_kbps = 8 * peer.last_payload_bytes / (len(x) / SR) / 1000
    assert true_kbps == pytest.approx(kbps, rel=0.05)


@pytest.mark.skipif(not OpusPeer.is_available(), reason="opusenc/opusdec not installed")
def test_opus_decode_with_packet_loss_conceals_some_packets():
    x = speech_like(seed=6)
    ogg = OpusPeer(6).encode(x)
    clean, lossy = OpusPeer.decode(ogg), OpusPeer.decode(ogg, 0.3)
    assert lossy.shape == clean.shape  # concealed packets keep their length
    frames = np.abs(lossy - clean).reshape(-1, 320).max(1) > 1e-4
    assert 0.05 < frames.mean() < 0.95  # some 20 ms frames differ, not all


@pytest.mark.skipif(not Codec2Peer.is_available(), reason="c2enc/c2dec not installed")
def test_codec2_roundtrip_length():
    x = speech_like(seed=5)
    peer = Codec2Peer(3200)
    y = peer.roundtrip(x)
    assert y.shape == x.shape
    assert 8 * peer.last_payload_bytes / (len(x) / SR) == pytest.approx(3200, rel=0.05)


def lyra_peer(kbps: float) -> LyraPeer:
    model_dir = SHARED / "peers" / "lyra"
    if not LyraPeer.is_available(model_dir):
        pytest.skip("Lyra models in ../shared or ai-edge-litert missing")
    return LyraPeer(kbps, model_dir=model_dir)


def test_lyra_frames():
    peer = lyra_peer(6)
    frame = (speech_like(0.02) * 32767).astype(np.int16)
    packet = peer.encode_frame(frame)
    assert len(packet) == 15  # 30 quantizers x 4 bits
    out = peer.decode_packet(packet)
    assert out.shape == (320,) and out.dtype == np.int16


@pytest.mark.parametrize("kbps,packet_bytes", [(3.2, 8), (9.2, 23)])
def test_lyra_roundtrip_aligned(kbps, packet_bytes):
    x = eval_speech()[: SR * 4 - 100]
    peer = lyra_peer(kbps)
    y = peer.roundtrip(x)
    assert y.shape == x.shape
    assert peer.last_payload_bytes == packet_bytes * (len(x) // 320)
    assert abs(lag_of(x, y)) <= 2
    assert log_mel_distance(x, y) < 0.5


def test_evaluation_peers_lists_or_notes_each():
    peers, notes = evaluation_peers()
    names = {p.name for p in peers}
    assert len(names) + len(notes) == 4
    assert all(hasattr(p, "roundtrip") and p.kbps > 0 for p in peers)


def test_lyra_is_looked_for_beside_the_clone_and_skipped_with_a_note(tmp_path, monkeypatch):
    """Lyra's models come from ../shared (the clone's sibling), wherever the clone is; where that
    folder is missing, Lyra is skipped with a note saying what to do."""
    from codec.evaluation import peers
    monkeypatch.delenv(peers.LYRA_ENV, raising=False)
    assert peers.lyra_model_dir() == SHARED / "peers" / "lyra"
    monkeypatch.setattr(peers, "REPO", tmp_path / "clone")
    assert peers.lyra_model_dir() == tmp_path / "shared" / "peers" / "lyra"
    assert not LyraPeer.is_available()
    _, notes = evaluation_peers(codec2=False, amrwb=False)
    lyra = [n for n in notes if n.startswith("Lyra v2 skipped")]
    assert len(lyra) == 1 and str(tmp_path / "shared" / "peers" / "lyra") in lyra[0]
    assert "CODEC_LYRA_DIR" in lyra[0]
    monkeypatch.setenv(peers.LYRA_ENV, str(tmp_path / "elsewhere"))
    assert peers.lyra_model_dir() == tmp_path / "elsewhere"


def test_evaluate_says_once_what_to_install_for_missing_metrics(tmp_path, monkeypatch, capsys):
    for module in ("pesq", "pystoi"):  # as if not installed (CI's test extra has neither)
        monkeypatch.setitem(sys.modules, module, None)
    note = metrics.missing_metrics_note()
    assert note.startswith("WB-PESQ and STOI n/a: pesq, pystoi not installed") and "[eval]" in note
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import evaluate
    sf.write(tmp_path / "a.wav", speech_like(0.5), SR)
    monkeypatch.setattr(evaluate, "evaluate", lambda files, systems, workers: [])
    assert evaluate.main(["--data", str(tmp_path), "--bitrates", "6"]) == 0
    assert capsys.readouterr().out.count("pip install -e '.[eval]'") == 1
