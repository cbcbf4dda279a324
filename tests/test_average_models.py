"""scripts/average_models.py: the averaged model holds the element-wise mean of its inputs'
weights, loads and runs as a shipped model (graphs included), and models of different
architectures are refused."""

import dataclasses
import sys

import numpy as np
import pytest
import torch

from codec.formats import bitstream
from codec.model import build_codec, load_model, save_model
from codec.runtime import api
from codec.runtime.engine import load_engine

from conftest import ROOT, TINY, make_tiny_model, speech_like

sys.path.insert(0, str(ROOT / "scripts"))
import average_models  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny random models of one architecture, saved, and the folder that holds them."""
    base = tmp_path_factory.mktemp("models")
    return make_tiny_model(base / "a", seed=1), make_tiny_model(base / "b", seed=2), base


def test_the_average_holds_the_mean_of_the_weights_and_runs(models, tmp_path):
    a, b, base = models
    assert average_models.main([str(base / "a"), str(base / "b"),
                                "--out", str(tmp_path / "ab")]) == 0
    ab = load_model(tmp_path / "ab")
    sa, sb = a.state_dict(), b.state_dict()
    for key, value in ab.state_dict().items():
        if value.is_floating_point() and not key.endswith(("ema_sum", "ema_count")):
            torch.testing.assert_close(value, (sa[key] + sb[key]) / 2, rtol=0, atol=1e-7)
    assert not torch.equal(sa["quantizer.levels.0.codebook"], ab.state_dict()["quantizer.levels.0.codebook"])
    engine = load_engine(tmp_path / "ab")  # its graphs, as the runtime runs them
    wav = speech_like(0.5)
    data = api.compress(wav, 16000, engine.config.bitrates[-1], model=engine)
    out = api.decompress(data, model=engine)[0]
    assert bitstream.read_model_id(data) == ab.model_id and np.isfinite(out).all() and out.size


def test_a_model_averaged_with_itself_is_the_same_model(models, tmp_path):
    a, _, base = models
    average_models.average_models([base / "a", base / "a"], tmp_path / "aa")
    assert load_model(tmp_path / "aa").model_id == a.model_id


def test_models_of_different_architectures_are_refused(models, tmp_path, capsys):
    torch.manual_seed(0)
    save_model(build_codec(dataclasses.replace(TINY, dim=8)).eval(), tmp_path / "other")
    assert average_models.main([str(models[2] / "a"), str(tmp_path / "other"),
                                "--out", str(tmp_path / "x")]) == 1
    assert "average_models:" in capsys.readouterr().err and not (tmp_path / "x").exists()
