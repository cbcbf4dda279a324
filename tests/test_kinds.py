"""The contract of every registered kind (``codec/model/nn/registry.py``), on a tiny model of each:
streamed equals offline up to the declared delay, future input never changes past output, every
per-frame engine equals the offline pass, and files and a loopback stream are aligned with the
input and exactly as long. A new kind needs a tiny config here (the first test says so); the
spectral kind is also held to it with 8-bit layers."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.formats.payload import payload_codes
from codec.model import build_codec, load_model, save_model
from codec.model.nn.registry import DECODERS, ENCODERS
from codec.net.receiver import Receiver
from codec.net.sender import send_file
from codec.runtime import api
from codec.runtime.streaming import StreamDecoder, StreamEncoder

from conftest import TINY, speech_like

TINY_KINDS = {
    "seanet": TINY,
    "spectral": replace(TINY, encoder="spectral", decoder="spectral", hop_size=320, width=16,
                        encoder_blocks=1, decoder_blocks=2),
}
TINY_KINDS["spectral-envelope"] = replace(TINY_KINDS["spectral"], decoder="spectral-envelope")
TINY_KINDS["spectral-pitch"] = replace(TINY_KINDS["spectral"], decoder="spectral-pitch")
# every kind, and its variants that change what the graphs compute
TINY_MODELS = {**TINY_KINDS, "spectral-int8": replace(TINY_KINDS["spectral"], int8=True),
               "spectral-beam": replace(TINY_KINDS["spectral"], search_beams=(4, 4, 4, 2)),
               "spectral-long": replace(TINY_KINDS["spectral"], long_window=960),
               # a finer synthesis grid: 15 ms frames 5 ms apart
               "spectral-fine": replace(TINY_KINDS["spectral"], synthesis_window=240,
                                        synthesis_step=80)}
BACKENDS = ["eager", "onnxruntime"]


def test_every_registered_kind_has_a_tiny_model_here():
    assert {c.encoder for c in TINY_KINDS.values()} == set(ENCODERS)
    assert {c.decoder for c in TINY_KINDS.values()} == set(DECODERS)


@pytest.fixture(scope="module", params=list(TINY_MODELS))
def kind_model(request, tmp_path_factory):
    torch.manual_seed(0)
    m = build_codec(TINY_MODELS[request.param]).train()
    for _ in range(2):
        m(torch.randn(16, 1, 16000) * 0.1)
    directory = tmp_path_factory.mktemp(request.param)
    save_model(m.eval(), directory)
    return load_model(directory)


@pytest.mark.parametrize("backend", BACKENDS)
def test_streamed_equals_offline_up_to_the_delay(kind_model, backend):
    m, hop = kind_model, kind_model.hop
    wav = speech_like(0.6, m.config.sample_rate, seed=4)
    wav = wav[: len(wav) // hop * hop]
    k = m.config.codebooks_for(6)
    offline = m.encode(torch.from_numpy(wav), k)[0].numpy()
    enc, dec = StreamEncoder(m, 6, backend), StreamDecoder(m, backend=backend)
    payloads = [enc.encode(f) for f in wav.reshape(-1, hop)]
    codes = np.stack([payload_codes(p, None, m.config.codebook_bits) for p in payloads], 1)
    assert (codes != offline).any(axis=0).mean() <= 0.05  # float near-ties only
    frames = np.concatenate([dec.decode(p) for p in payloads])
    assert dec.delay == m.delay
    aligned = np.concatenate([frames[m.delay:], dec.flush()])
    reference = m.decode(torch.from_numpy(codes))[0, 0].numpy()
    assert len(aligned) == len(wav)
    np.testing.assert_allclose(aligned, np.clip(reference, -1, 1), atol=2e-4)


def test_future_input_never_changes_past_output(kind_model):
    m, hop = kind_model, kind_model.hop
    wav = speech_like(0.4, m.config.sample_rate, seed=5)
    wav = wav[: len(wav) // hop * hop]
    changed = wav.copy()
    changed[len(wav) // 2:] = np.random.default_rng(0).standard_normal(len(wav) - len(wav) // 2) * 0.3
    outs = []
    for signal in (wav, changed):
        enc, dec = StreamEncoder(m, 9, "eager"), StreamDecoder(m, backend="eager")
        outs.append(np.concatenate([dec.decode(enc.encode(f)) for f in signal.reshape(-1, hop)]))
    half = len(wav) // 2 // hop * hop
    np.testing.assert_array_equal(outs[0][:half], outs[1][:half])


def test_files_and_a_loopback_stream_are_aligned_and_exactly_as_long(kind_model, tmp_path):
    m, rate = kind_model, kind_model.config.sample_rate
    wav = speech_like(0.55, rate, seed=6)
    sf.write(tmp_path / "in.wav", wav, rate)
    data = api.compress(wav, rate, 9, model=m)
    out, _ = api.decompress(data, model=m)
    codes = m.encode(torch.from_numpy(wav), m.config.codebooks_for(9))
    np.testing.assert_allclose(out, m.decode(codes, len(wav))[0, 0].numpy().clip(-1, 1),
                               atol=1e-5)
    rx = Receiver(m, ("127.0.0.1", 0), wait=10)
    thread = threading.Thread(target=lambda: rx.run(tmp_path / "out.wav"))
    thread.start()
    send_file(m, tmp_path / "in.wav", rx.address, pace=False, bitrate=9)
    thread.join(20)
    received, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert len(received) == len(wav)
    # the receiver's file is the file decode, aligned, up to the 16-bit WAV and the sender's
    # codes (its engine breaks some of the tiny random model's near-tied codes the other way)
    assert np.corrcoef(received, out)[0, 1] >= 0.99
