"""A config per kind (issue 28.4): ``SEANetConfig`` and ``SpectralConfig`` beside ``CodecConfig``,
which holds their fields flat (as ``config.json`` saves them) and gives each kind its own
(``kind_config``); and model ids: those of every model saved before stay as stored (the whole
config hashed, weights format 2), a new model's id hashes only its own kinds' fields."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace

import numpy as np
import pytest

from codec.config import KIND_CONFIGS, CodecConfig, SEANetConfig, SpectralConfig
from codec.formats import bitstream
from codec.model import load_model
from codec.model.nn.registry import DECODERS, ENCODERS
from codec.runtime import api
from codec.runtime.engine import load_engine
from codec.runtime.store import (CONFIG_FILE, PREVIOUS, WEIGHTS_DIR, WEIGHTS_FILE,
                                 model_dir_for_id, model_id_for, read_meta)
from codec.version import WEIGHTS_VERSION

from conftest import ROOT, make_tiny_model, speech_like

# every model whose id is recorded in the repository: shipped, kept by id, and checkpoints
STORED = [WEIGHTS_DIR, *sorted((WEIGHTS_DIR / PREVIOUS).glob("*")),
          *sorted((ROOT / "checkpoints").glob("*"))]
SPECTRAL = CodecConfig(encoder="spectral", decoder="spectral", hop_size=320)


def test_the_kind_configs_name_the_registered_kinds():
    assert set(KIND_CONFIGS) == set(ENCODERS) | set(DECODERS)


def test_every_field_is_shared_or_one_kinds():
    kinds = [f.name for kind in (SEANetConfig, SpectralConfig) for f in fields(kind)]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) <= {f.name for f in fields(CodecConfig)}
    for kind in (SEANetConfig, SpectralConfig):  # one default, the kind's own
        assert all(getattr(CodecConfig(), f.name) == f.default for f in fields(kind))


def test_kind_config_gives_a_kind_its_own_fields():
    config = replace(SPECTRAL, decoder="spectral-pitch", width=12, channels=8)
    assert config.kind_config("encoder") == config.kind_config("decoder") == \
        SpectralConfig(width=12)
    assert CodecConfig(channels=8, ratios=(5, 8, 8)).kind_config("decoder") == \
        SEANetConfig(channels=8, ratios=(5, 8, 8))
    with pytest.raises(ValueError, match="role"):
        config.kind_config("quantizer")
    with pytest.raises(ValueError, match="unknown kind 'mystery'"):
        replace(config, encoder="mystery").kind_config("encoder")


@pytest.mark.parametrize("folder", STORED, ids=lambda p: p.name)
def test_every_stored_model_id_is_its_recomputed_id(folder):
    """The rule of its format version (2: the whole config as saved; 3: its own kinds' fields)
    gives the id it holds, so the files it wrote keep naming it."""
    meta = read_meta(folder)
    assert meta["format_version"] in (2, WEIGHTS_VERSION)
    weights = (folder / WEIGHTS_FILE).read_bytes()
    assert model_id_for(weights, meta["config"], meta["format_version"]).hex() == meta["model_id"]
    if folder.parent != ROOT / "checkpoints":  # the package finds it by the id its files carry
        assert model_dir_for_id(bytes.fromhex(meta["model_id"])) == folder


def test_the_shipped_models_load_and_decode_by_their_stored_ids():
    """The shipped model and the one kept by id: the torch model loads with the stored id, and
    a file the runtime writes with it decodes by the id it carries."""
    wav = speech_like(0.5)
    for folder in STORED[:2]:
        meta = json.loads((folder / CONFIG_FILE).read_text())
        assert load_model(folder).model_id.hex() == meta["model_id"]
        engine = load_engine(folder)
        data = api.compress(wav, 16000, engine.config.bitrates[-1], model=engine)
        assert bitstream.read_model_id(data).hex() == meta["model_id"]
        assert np.array_equal(api.decompress(data)[0], api.decompress(data, model=engine)[0])


def test_a_new_models_id_hashes_only_its_own_kinds_fields():
    def model_id(config, version=WEIGHTS_VERSION):
        return model_id_for(b"weights", config, version)

    seanet = CodecConfig()
    for config, others, own in ((SPECTRAL, {"channels": 16, "ratios": (5, 8, 8),
                                            "dilations": (1,), "kernel_factors": (1, 1)},
                                 {"width": 128, "synthesis_window": 240}),
                                (seanet, {"width": 128, "transform": "mdct", "int8": True},
                                 {"channels": 16, "kernel_factors": (2, 2)})):
        for name, value in others.items():
            assert model_id(replace(config, **{name: value})) == model_id(config), name
            assert model_id(replace(config, **{name: value}), 2) != model_id(config, 2), name
        for name, value in {**own, "dim": 16, "bitrates": (3.0, 6.0)}.items():
            assert model_id(replace(config, **{name: value})) != model_id(config), name
    # the frame size counts, however it is given (hop_size 0: the SEANet ratios' product)
    short = replace(SPECTRAL, bitrates=(3.0, 6.0))  # whole numbers of codebooks at either hop
    assert model_id(replace(short, hop_size=0)) == model_id(short)  # 8 * 5 * 8 = 320
    assert model_id(replace(short, hop_size=0, ratios=(4, 5, 8))) == \
        model_id(replace(short, hop_size=160)) != model_id(short)


def test_a_new_model_is_saved_with_the_new_rule(tmp_path):
    model = make_tiny_model(tmp_path)
    meta = read_meta(tmp_path)
    weights = (tmp_path / WEIGHTS_FILE).read_bytes()
    assert meta["format_version"] == WEIGHTS_VERSION == 3
    assert model.model_id.hex() == meta["model_id"] == model_id_for(weights, model.config).hex()
    assert model_id_for(weights, asdict(model.config), 2) != model.model_id
