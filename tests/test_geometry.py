"""Frame geometry comes from the model: no 320 or 16000 in the package outside the config, and
models with another sample rate or hop run through files and a loopback stream."""

import re
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.errors import ArgumentError
from codec.formats import bitstream
from codec.model import CodecConfig, build_codec, load_model, save_model
from codec.net.receiver import Receiver
from codec.net.sender import send_file
from codec.runtime import api
from codec.runtime.streaming import StreamDecoder, StreamEncoder

from conftest import ROOT, TINY, speech_like

PACKAGE = ROOT / "codec"
# 320 or 16000 in any spelling: 16_000, 16e3, 16 kHz, 16kHz, 16k
GEOMETRY = re.compile(r"(?<![\w.])(320|16_?000|16e3|16\.0e3|16 ?k(Hz)?)(?![\w])", re.I)
CONFIG_MODULE = PACKAGE / "config.py"  # defines CodecConfig, the one place the geometry is set


def geometry_literals(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
            for i, line in enumerate(path.read_text().splitlines(), 1) if GEOMETRY.search(line)]


def test_no_frame_geometry_literals_in_the_package():
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             if path != CONFIG_MODULE
             and "evaluation" not in path.parts for hit in geometry_literals(path)]
    assert found == []
    evaluation = [hit for path in sorted((PACKAGE / "evaluation").rglob("*.py"))
                  for hit in geometry_literals(path)]
    assert len(evaluation) == 1 and "PESQ" in evaluation[0]  # WB-PESQ's rate, named once


def test_the_check_sees_every_spelling():
    for text in ("x = 320", "rate=16000", "16_000", "16e3", "at 16 kHz", "16kHz", "(16k)"):
        assert GEOMETRY.search(text), text
    for text in ("3200 bit/s", "0.320", "1320", "160000"):
        assert not GEOMETRY.search(text), text


# other geometries: (sample rate, SEANet ratios, bitrates whole in codebooks)
GEOMETRIES = {"hop160": (16000, (4, 5, 8), (2.0, 4.0)),
              "hop640": (16000, (8, 10, 8), (1.0, 2.0)),
              "8kHz-hop160": (8000, (4, 5, 8), (1.5, 3.0))}


@pytest.fixture(scope="module", params=list(GEOMETRIES))
def other_model(request, tmp_path_factory):
    rate, ratios, bitrates = GEOMETRIES[request.param]
    torch.manual_seed(0)
    m = build_codec(CodecConfig(**{**TINY.__dict__, "sample_rate": rate, "ratios": ratios,
                                   "bitrates": bitrates}))
    m.train()
    for _ in range(2):
        m(torch.randn(8, 1, rate) * 0.1)
    directory = tmp_path_factory.mktemp(request.param)
    save_model(m.eval(), directory)
    return load_model(directory)


def test_file_round_trip_with_another_geometry(other_model, tmp_path):
    rate, hop, kbps = other_model.config.sample_rate, other_model.hop, other_model.config.bitrates[-1]
    wav = speech_like(0.7, 44100)
    sf.write(tmp_path / "in.wav", wav, 44100)
    result = api.encode_file(tmp_path / "in.wav", tmp_path / "x.cdc", kbps, model=other_model)
    h = result.header
    assert (h.codec_rate, h.hop) == (rate, hop)
    n_out = bitstream.output_samples_for(len(wav), 44100, rate)
    assert h.num_frames == -(-n_out // hop) and h.nominal_kbps == pytest.approx(kbps)
    api.decode_file(tmp_path / "x.cdc", tmp_path / "out.wav", model=other_model)
    out, out_rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert out_rate == rate and len(out) == n_out
    mem, mem_rate = api.decompress((tmp_path / "x.cdc").read_bytes(), model=other_model)
    assert mem_rate == rate and np.abs(mem - out).max() <= 1 / 32768 + 1e-6
    api.decode_file(tmp_path / "x.cdc", tmp_path / "orig.wav", rate="original", model=other_model)
    assert sf.info(tmp_path / "orig.wav").frames == len(wav)


def test_stream_frames_are_one_hop(other_model):
    hop = other_model.hop
    enc = StreamEncoder(other_model, other_model.config.bitrates[0], backend="eager")
    dec = StreamDecoder(other_model, backend="eager")
    assert enc.frame_size == dec.frame_size == hop
    assert len(dec.decode(enc.encode(speech_like(0.1, other_model.config.sample_rate)[:hop]))) == hop
    with pytest.raises(ValueError):
        enc.encode(np.zeros(hop + 1, np.float32))


def test_loopback_stream_with_another_geometry(other_model, tmp_path):
    rate, hop = other_model.config.sample_rate, other_model.hop
    wav = speech_like(0.5, rate)
    sf.write(tmp_path / "in.wav", wav, rate)
    rx = Receiver(other_model, ("127.0.0.1", 0), wait=10)
    result = {}
    thread = threading.Thread(target=lambda: result.update(stats=rx.run(tmp_path / "out.wav")))
    thread.start()
    sent = send_file(other_model, tmp_path / "in.wav", rx.address, pace=False,
                     bitrate=other_model.config.bitrates[-1])
    thread.join(20)
    stats = result["stats"]
    out, out_rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert out_rate == rate and len(out) == len(wav) == sent.samples
    assert sent.frames == stats.decoded == -(-len(wav) // hop) and stats.lost == 0 and stats.ended
    assert sent.frame_s == stats.frame_s == hop / rate
    assert stats.kbps == pytest.approx(other_model.config.bitrates[-1])


def test_a_listed_bitrate_the_geometry_cannot_carry_is_left_out():
    """A 160-sample hop (100 frames a second) gives 1 kbps a codebook: the default 1.5 kbps is
    no whole number of codebooks, so it is left out with a warning (its beam and gain too), the
    model works at 3, 6 and 9 kbps, and asking for 1.5 names those."""
    fields = {**TINY.__dict__, "ratios": (4, 5, 8), "search_beams": (1, 2, 3),
              "output_gain_db": (0.5, 1.0, 1.5, 2.0)}
    with pytest.warns(UserWarning, match=r"bitrate 1\.5 kbps left out: .* takes 3, 6 or 9 kbps"):
        config = CodecConfig(**fields)
    assert (config.bitrates, config.search_beams, config.output_gain_db) == \
        ((3.0, 6.0, 9.0), (2, 3), (1.0, 1.5, 2.0))
    torch.manual_seed(0)
    model = build_codec(config).eval()
    wav = speech_like(0.3, 16000)
    for kbps in config.bitrates:
        data = api.compress(wav, 16000, kbps, model=model)
        assert len(api.decompress(data, model=model)[0]) == len(wav)
    with pytest.raises(ArgumentError, match=r"^bitrate must be 3, 6 or 9 kbps, got 1\.5$"):
        api.compress(wav, 16000, 1.5, model=model)
    with pytest.raises(ArgumentError, match=r"^bitrate must be 3, 6 or 9 kbps, got 1\.5$"):
        StreamEncoder(model, 1.5, backend="eager")
    with pytest.warns(UserWarning, match=r"bitrate 1\.5 or 2\.5 kbps left out: .* takes 18 kbps"):
        assert CodecConfig(ratios=(4, 5, 8), bitrates=(1.5, 2.5)).bitrates == (18.0,)  # all
