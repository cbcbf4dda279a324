"""scripts/train.py takes its defaults from the shipped model's recipe (codec/weights/recipe.json)
when it parses its arguments; flags given still win; calibrate_level.py's copy keeps the recipe."""

import json
import sys
from dataclasses import fields

import pytest
import soundfile as sf

from codec.model import WEIGHTS_DIR
from codec.train.loop import TrainConfig
from codec.train.recipe import RUN_FIELDS, read_recipe, recipe_of, write_recipe

from conftest import ROOT, make_tiny_model, speech_like

sys.path.insert(0, str(ROOT / "scripts"))
import calibrate_level  # noqa: E402
import train  # noqa: E402

# docs/TRAINING.md, "Where training stands": the recipe of the issue 26 runs
CURRENT = dict(recon_loss="compressed", cspec_weighting="erb", cmag_weight=1.0, cplx_weight=1.0,
               ema=0.999, batch_size=32, adv_weight=0.0, compile=True)


def parsed(*flags):
    return vars(train.parse_args(["--run-dir", "x", *flags])[1])


def test_the_parsed_defaults_are_the_shipped_recipe():
    recipe = read_recipe(WEIGHTS_DIR / "recipe.json")
    args = parsed()
    for f in fields(TrainConfig):
        assert args[f.name] == recipe.get(f.name, f.default), f.name
    assert {k: args[k] for k in CURRENT} == CURRENT


def test_flags_given_override_the_recipe():
    args = parsed("--batch-size", "8", "--no-compile", "--recon-loss", "mrstft", "--ema", "0")
    assert (args["batch_size"], args["compile"], args["recon_loss"], args["ema"]) == \
        (8, False, "mrstft", 0.0)
    assert args["cspec_weighting"] == "erb"  # the rest still from the recipe
    none = parsed("--recipe", "none")
    assert all(none[f.name] == f.default for f in fields(TrainConfig))


def test_the_recipe_is_read_when_parsing_not_at_import(tmp_path, monkeypatch):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"batch_size": 7, "cspec_frames": [1, 2], "lr": 1}))
    monkeypatch.setattr(train, "SHIPPED_RECIPE", path)
    args = parsed()
    assert (args["batch_size"], args["cspec_frames"], args["lr"]) == (7, (1, 2), 1.0)
    assert parsed("--recipe", str(path))["batch_size"] == 7
    path.write_text(json.dumps({"batch_sise": 7}))
    with pytest.raises(SystemExit) as e:
        parsed()
    assert e.value.code == 2
    monkeypatch.setattr(train, "SHIPPED_RECIPE", tmp_path / "absent.json")
    assert parsed()["batch_size"] == TrainConfig.batch_size  # no recipe: the built-in defaults


def test_a_recipe_holds_the_flags_that_differ_and_reads_back(tmp_path):
    cfg = TrainConfig(steps=5, cpu_minutes=3, seed=4, batch_size=32, cspec_frames=(1, 2, 4, 8),
                      compile=True, recon_loss="compressed")
    assert recipe_of(cfg) == {"batch_size": 32, "cspec_frames": (1, 2, 4, 8), "compile": True,
                              "recon_loss": "compressed"}  # run fields left out
    assert {"steps", "cpu_minutes", "seed"} <= set(RUN_FIELDS)
    write_recipe(cfg, tmp_path)
    assert read_recipe(tmp_path / "recipe.json") == recipe_of(cfg)


def test_calibrate_level_keeps_the_recipe(tmp_path):
    rows = ["path\tspeaker"]
    for s in range(4):
        path = tmp_path / f"spk{s}.flac"
        sf.write(path, speech_like(2.2, 16000, seed=s), 16000)
        rows.append(f"{path.name}\tspk{s}")
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    make_tiny_model(tmp_path / "model")
    write_recipe(TrainConfig(batch_size=32), tmp_path / "model")
    assert calibrate_level.main([str(tmp_path / "model"), "--out", str(tmp_path / "level"),
                                 "--data", str(tmp_path / "train.tsv"), "--holdout", "0.5",
                                 "--skip", "0", "--files", "1"]) == 0
    assert read_recipe(tmp_path / "level" / "recipe.json") == {"batch_size": 32}
