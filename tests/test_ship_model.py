"""scripts/ship_model.py: shipping a model moves the shipped one to weights/previous/<id>/ with its
graphs, so the files it wrote keep decoding; invalid or already-held models are refused with
nothing changed. Always run on a copy of the weights folder, never on the package's."""

import shutil
import sys

import numpy as np
import pytest

from codec.model import model_dir_for_id, save_model
from codec.runtime import api, store
from codec.runtime.engine import load_engine
from codec.runtime.store import CONFIG_FILE, PREVIOUS, WEIGHTS_FILE

from conftest import ROOT, make_tiny_model, speech_like

sys.path.insert(0, str(ROOT / "scripts"))
import ship_model  # noqa: E402


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> folder: two tiny models in the shipped format (with graphs), ``a`` and ``b``, and
    ``bare``, model ``a`` saved without graphs."""
    base = tmp_path_factory.mktemp("models")
    save_model(make_tiny_model(base / "bare", seed=1), base / "a", graphs=True)
    save_model(make_tiny_model(base / "b-bare", seed=2), base / "b", graphs=True)
    return {name: base / name for name in ("a", "b", "bare")}


@pytest.fixture()
def weights(tmp_path):
    """An empty weights folder in a package folder of its own (where shipping stages)."""
    folder = tmp_path / "codec" / "weights"
    folder.mkdir(parents=True)
    return folder


def model_id(folder) -> bytes:
    return bytes.fromhex(store.read_meta(folder)["model_id"])


def tree(root) -> dict:
    """Every file under ``root`` and its bytes: what a refusal must leave as it was."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
            for p in sorted(root.rglob("*"))}


def ship(folder, weights, capsys) -> tuple[int, str, str]:
    code = ship_model.main([str(folder), "--weights-dir", str(weights)])
    out, err = capsys.readouterr()
    return code, out, err


def test_files_of_the_shipped_model_still_decode_after_the_next_ships(saved, weights, capsys,
                                                                      monkeypatch):
    a, b = model_id(saved["a"]), model_id(saved["b"])
    code, out, _ = ship(saved["a"], weights, capsys)
    assert code == 0 and f"model {a.hex()} installed" in out
    data = api.compress(speech_like(0.4), 16000, 6, model=load_engine(weights))
    (weights / "NOTES").write_text("kept")  # anything else in the folder stays
    monkeypatch.setattr(store, "MODEL_SEARCH_PATH", [weights, weights / PREVIOUS])

    code, out, _ = ship(saved["b"], weights, capsys)
    assert code == 0
    assert out.splitlines() == [f"model {a.hex()} -> {weights / PREVIOUS / a.hex()}/",
                                f"model {b.hex()} installed from {saved['b']} in {weights}/"]
    assert model_dir_for_id(b) == weights and load_engine(weights).model_id == b
    assert model_dir_for_id(a) == weights / PREVIOUS / a.hex()
    assert tree(weights / PREVIOUS / a.hex()) == tree(saved["a"])  # weights, config, graphs
    decoded, rate = api.decompress(data)  # by the id in the file: now from previous/
    expected, _ = api.decompress(data, model=load_engine(saved["a"]))
    assert rate == 16000 and np.array_equal(decoded, expected)
    assert (weights / "NOTES").read_text() == "kept"
    assert sorted(p.name for p in weights.parent.iterdir()) == ["weights"]  # no staging left


def test_a_model_already_in_previous_is_not_moved_again(saved, weights, capsys):
    a = model_id(saved["a"]).hex()
    shutil.copytree(saved["a"], weights, dirs_exist_ok=True)
    shutil.copytree(saved["a"], weights / PREVIOUS / a)
    code, out, _ = ship(saved["b"], weights, capsys)
    assert code == 0 and out.splitlines()[0] == (f"model {a} already in {weights / PREVIOUS / a}/, "
                                                 f"its copy in {weights}/ dropped")
    assert model_id(weights) == model_id(saved["b"])
    assert [p.name for p in (weights / PREVIOUS).iterdir()] == [a]
    assert tree(weights / PREVIOUS / a) == tree(saved["a"])


def broken(saved, tmp_path, how: str):
    """A copy of model ``a`` damaged as named."""
    folder = tmp_path / how
    shutil.copytree(saved["a"], folder)
    if how == "weights":
        data = bytearray((folder / WEIGHTS_FILE).read_bytes())
        data[-1] ^= 1
        (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    elif how == "graph":
        (folder / "decoder.onnx").write_bytes(b"\0" + (folder / "decoder.onnx").read_bytes())
    elif how == "missing graph":
        (folder / "decoder.onnx").unlink()
    elif how == "id":
        meta = (folder / CONFIG_FILE).read_text()
        (folder / CONFIG_FILE).write_text(meta.replace(model_id(saved["a"]).hex(), "00" * 8))
    return folder


@pytest.mark.parametrize("case, message", [
    ("not a folder", "cannot read model"),
    ("no graphs", "no runtime graphs"),
    ("weights", "corrupted"),
    ("graph", "decoder.onnx is corrupted"),
    ("missing graph", "cannot read the graph"),
    ("id", "says 0000000000000000"),
    ("shipped", "already the shipped one"),
    ("previous", "already in"),
])
def test_refused_with_nothing_changed(saved, weights, tmp_path, capsys, case, message):
    shutil.copytree(saved["a"], weights, dirs_exist_ok=True)  # a shipped, b earlier
    shutil.copytree(saved["b"], weights / PREVIOUS / model_id(saved["b"]).hex())
    folder = {"not a folder": tmp_path / "nothing", "no graphs": saved["bare"],
              "shipped": saved["a"], "previous": saved["b"]}.get(case) \
        or broken(saved, tmp_path, case)
    before = tree(weights.parent)
    code, out, err = ship(folder, weights, capsys)
    assert code == 1 and out == "" and message in err and len(err.splitlines()) == 1
    assert tree(weights.parent) == before


def test_a_folder_in_previous_named_for_the_shipped_model_must_hold_it(saved, weights, capsys):
    shutil.copytree(saved["a"], weights, dirs_exist_ok=True)
    kept = weights / PREVIOUS / model_id(saved["a"]).hex()
    shutil.copytree(saved["bare"], kept)  # the right id, but no graphs
    before = tree(weights.parent)
    code, _, err = ship(saved["b"], weights, capsys)
    assert code == 1 and f"model in {kept} has no runtime graphs" in err
    assert tree(weights.parent) == before


@pytest.mark.parametrize("failure, code, said", [
    (OSError(28, "No space left on device"), 1, "No space left on device ({weights} unchanged)"),
    (KeyboardInterrupt(), 130, "interrupted; {weights} holds model {a}"),
])
def test_a_failure_before_the_swap_changes_nothing(saved, weights, capsys, monkeypatch,
                                                   failure, code, said):
    shutil.copytree(saved["a"], weights, dirs_exist_ok=True)
    before = tree(weights.parent)

    def fail(*args):
        raise failure
    monkeypatch.setattr(ship_model, "swap", fail)
    returned, _, err = ship(saved["b"], weights, capsys)
    assert returned == code and said.format(weights=weights, a=model_id(saved["a"]).hex()) in err
    assert tree(weights.parent) == before


@pytest.mark.parametrize("one_step", [True, False])
def test_swap_exchanges_two_folders(tmp_path, monkeypatch, one_step):
    if not one_step:
        monkeypatch.setattr(ship_model, "exchange", lambda a, b: False)
    for name in "ab":
        (tmp_path / name).mkdir()
        (tmp_path / name / name).write_text(name)
    ship_model.swap(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_the_docs_ship_with_the_script():
    for doc in ("README.md", "docs/TRAINING.md"):
        text = (ROOT / doc).read_text()
        assert "python scripts/ship_model.py runs/" in text and "cp runs/" not in text


def test_the_recipe_ships_with_its_model_and_retires_with_it(saved, weights, tmp_path, capsys):
    """recipe.json (scripts/train.py's defaults) goes where its model goes; a model shipped
    without one leaves none behind from the model before."""
    a = tmp_path / "a"
    shutil.copytree(saved["a"], a)
    (a / "recipe.json").write_text('{"batch_size": 32}\n')
    assert ship(a, weights, capsys)[0] == 0
    assert (weights / "recipe.json").read_text() == '{"batch_size": 32}\n'
    assert ship(saved["b"], weights, capsys)[0] == 0
    assert not (weights / "recipe.json").exists()
    kept = weights / PREVIOUS / model_id(a).hex()
    assert (kept / "recipe.json").read_text() == '{"batch_size": 32}\n'
