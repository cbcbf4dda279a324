"""Models by id: files from an earlier shipped model keep decoding (weights/previous/<id>/), and a
file from a model the package does not hold fails with a message that names the model id."""

import numpy as np
import pytest

from codec.__main__ import main
from codec.errors import FormatError
from codec.model import (WEIGHTS_DIR, config_for_id, load_model_for_id, model_dir_for_id,
                         save_model)
from codec.runtime import api, store

from conftest import ROOT, make_tiny_model, speech_like


@pytest.fixture()
def previous(tmp_path, monkeypatch):
    """A package whose search path is the shipped folder, then ``previous/`` holding one tiny
    model (an 'earlier shipped model'); returns that model."""
    old = make_tiny_model(tmp_path / "scratch", seed=3)
    folder = tmp_path / "previous" / old.model_id.hex()
    assert save_model(old, folder, graphs=True) == old.model_id  # shipped: with its graphs
    monkeypatch.setattr(store, "MODEL_SEARCH_PATH", [WEIGHTS_DIR, tmp_path / "previous"])
    return old


def test_earlier_model_is_found_by_id(previous):
    assert model_dir_for_id(previous.model_id).name == previous.model_id.hex()
    assert config_for_id(previous.model_id) == previous.config
    assert load_model_for_id(previous.model_id).model_id == previous.model_id


def test_shipped_model_is_found_by_id(shipped_model):
    assert model_dir_for_id(shipped_model.model_id) == WEIGHTS_DIR
    assert config_for_id(shipped_model.model_id) == shipped_model.config


def test_file_of_an_earlier_model_decodes_without_naming_it(previous, tmp_path):
    data = api.compress(speech_like(0.4), 16000, 6, model=previous)
    expected, _ = api.decompress(data, model=previous)
    out, rate = api.decompress(data)  # the model is the one the file names
    assert rate == previous.config.sample_rate and np.array_equal(out, expected)
    (tmp_path / "old.cdc").write_bytes(data)
    api.decode_file(tmp_path / "old.cdc", tmp_path / "old.wav")
    assert (tmp_path / "old.wav").stat().st_size > 44


def test_file_of_an_unknown_model_names_its_id(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(store, "MODEL_SEARCH_PATH", [WEIGHTS_DIR, tmp_path / "none"])
    stranger = make_tiny_model(tmp_path / "stranger", seed=9)
    data = api.compress(speech_like(0.2), 16000, 3, model=stranger)
    with pytest.raises(FormatError, match=f"encoded by model {stranger.model_id.hex()}.*does not hold"):
        api.decompress(data)
    (tmp_path / "x.cdc").write_bytes(data)
    for command in (["info", tmp_path / "x.cdc"], ["decode", tmp_path / "x.cdc", tmp_path / "x.wav"]):
        assert main([str(a) for a in command]) == 1
        assert stranger.model_id.hex() in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_a_given_model_still_refuses_other_files(previous, shipped_model):
    data = api.compress(speech_like(0.2), 16000, 3, model=previous)
    with pytest.raises(FormatError, match="another model"):
        api.decompress(data, model=shipped_model)


def test_config_json_that_lies_about_the_id_is_refused(previous, tmp_path):
    folder = tmp_path / "previous" / previous.model_id.hex()
    text = (folder / "config.json").read_text().replace(previous.model_id.hex(), "00" * 8)
    (folder / "config.json").write_text(text)
    with pytest.raises(FormatError, match="has id"):
        load_model_for_id(bytes(8))


def test_previous_models_ship_in_the_package():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["codec"]
    assert "weights/previous/*/*.pt" in patterns and "weights/previous/*/*.json" in patterns


def test_damaged_model_id_reports_the_damage(shipped_model):
    data = bytearray(api.compress(speech_like(0.2), 16000, 3, model=shipped_model))
    data[6] ^= 0x01  # first byte of the model id: now an id no model has
    with pytest.raises(FormatError, match="CRC mismatch"):
        api.decompress(bytes(data))
    for cut in (len(data) - 1, 40):
        with pytest.raises(FormatError, match="truncated"):
            api.decompress(bytes(data[:cut]))
