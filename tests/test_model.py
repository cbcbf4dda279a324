"""The model: lengths, bitrates, saving and safe loading of weights."""

import json
from dataclasses import replace

import pytest
import torch

from codec.errors import FormatError
from codec.model import CONFIG_FILE, WEIGHTS_FILE, CodecConfig, build_codec, load_model
from codec.version import WEIGHTS_VERSION

from conftest import make_tiny_model


@pytest.mark.parametrize("n", [0, 1, 319, 320, 321, 641, 4799])
def test_lengths(tiny_model, n):
    codes = tiny_model.encode(torch.randn(n) * 0.1, 6)
    assert codes.shape == (1, 6, -(-n // 320))
    assert tiny_model.decode(codes).shape[-1] == codes.shape[-1] * 320


@pytest.mark.parametrize("kbps,k", [(1.5, 3), (3, 6), (6, 12), (9, 18)])
def test_bitrate_to_codebooks(kbps, k):
    assert CodecConfig().codebooks_for(kbps) == k


@pytest.mark.parametrize("kbps", [0, 0.7, 9.5, 12, -3, 0.5, 4.5, float("nan"), "6", True])
def test_unsupported_bitrates(kbps):
    """Only the listed bitrates (one rule: ``errors.check_bitrate`` asks this), though 0.5 and
    4.5 are whole numbers of codebooks."""
    with pytest.raises(ValueError, match=r"unsupported bitrate .* this model takes 1\.5, 3, 6 or 9"):
        CodecConfig().codebooks_for(kbps)


def test_save_load_round_trip(tmp_path, tiny_model):
    model = make_tiny_model(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert model.model_id == again.model_id != bytes(8)
    x = torch.randn(3200) * 0.1
    assert torch.equal(model.encode(x), again.encode(x))
    other = make_tiny_model(tmp_path / "other", seed=1)
    assert other.model_id != model.model_id


def test_corrupted_weights_are_refused(tmp_path):
    make_tiny_model(tmp_path)
    data = bytearray((tmp_path / WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(FormatError, match="corrupted"):
        load_model(tmp_path)


def test_foreign_or_mismatched_files_are_refused(tmp_path):
    make_tiny_model(tmp_path)
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    meta["format_version"] = 99
    (tmp_path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="format version"):
        load_model(tmp_path)
    meta["format_version"] = WEIGHTS_VERSION
    meta["config"]["channels"] = 16  # weights no longer fit the architecture
    (tmp_path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="do not fit"):
        load_model(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("not json")
    with pytest.raises(FormatError, match="cannot read"):
        load_model(tmp_path)
    with pytest.raises(FormatError, match="cannot read"):
        load_model(tmp_path / "missing")


def test_pickled_code_is_never_executed(tmp_path):
    """A weights file carrying a pickled object is refused by weights_only loading."""
    import hashlib
    import io
    import pickle

    make_tiny_model(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    buf = io.BytesIO()
    torch.save({"x": Evil()}, buf, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    (tmp_path / WEIGHTS_FILE).write_bytes(buf.getvalue())
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    meta["weights_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (tmp_path / CONFIG_FILE).write_text(json.dumps(meta))
    with pytest.raises(FormatError):
        load_model(tmp_path)


def test_shipped_weights_load_offline_and_are_small():
    from codec.model import WEIGHTS_DIR
    model = load_model()
    assert (WEIGHTS_DIR / WEIGHTS_FILE).stat().st_size < 16 * 2**20
    assert not model.training
    # a new model is built as the shipped architecture: the same modules, gain left to calibrate
    fresh = build_codec()
    assert fresh.config == replace(model.config, output_gain_db=())
    assert {k: v.shape for k, v in fresh.state_dict().items()} == \
        {k: v.shape for k, v in model.state_dict().items()}


def test_every_shipped_file_is_package_data():
    """The wheel carries the weights and every graph config.json names (pyproject's globs)."""
    import fnmatch
    tomllib = pytest.importorskip("tomllib")
    from codec.model import WEIGHTS_DIR
    from conftest import ROOT
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["codec"]
    meta = json.loads((WEIGHTS_DIR / CONFIG_FILE).read_text())
    files = [CONFIG_FILE, WEIGHTS_FILE, *(g["file"] for g in meta["graphs"].values())]
    assert len(files) >= 5 and all((WEIGHTS_DIR / f).is_file() for f in files)
    for f in files:
        assert any(fnmatch.fnmatch(f"weights/{f}", g) for g in globs), f


def test_config_fields_parse_from_command_line_strings():
    assert CodecConfig.parse_fields(["int8=true", "width=192", "ratios=8,5,8"]) == \
        {"int8": True, "width": 192, "ratios": (8, 5, 8)}
    for bad in (["int8=yes"], ["nope=1"], ["width="]):
        with pytest.raises(ValueError):
            CodecConfig.parse_fields(bad)


@pytest.mark.parametrize("text, value", [("false", False), ("False", False), ("FALSE", False),
                                         ("true", True), ("True", True)])
def test_a_flag_field_reads_false_as_false(text, value):
    """The one FIELD=VALUE parser (train.py --model, transplant's DIR:field=value): "False" is
    not read as true, as bool("False") would."""
    assert CodecConfig.parse_fields([f"int8={text}", f"depth_bias={text}"]) == \
        {"int8": value, "depth_bias": value}
    assert CodecConfig.parse_fields(CodecConfig.split_fields(f"int8={text},width=64")) == \
        {"int8": value, "width": 64}
