"""Saved models on disk, without torch: the folder layout, ``config.json``, and lookup by id.

A model folder holds ``config.json`` (the format version, the ``CodecConfig``, the SHA-256 of
the weights, the model id, and the per-frame graphs with their SHA-256), the torch weights
``codec.pt`` (for research and training) and the ONNX graphs the runtime runs. The model id
written into every file and packet is derived from the config as saved and the weights, so a
decoder can refuse codes produced by any other model; its rule is that of the folder's format
version (``model_id_for``), so the id of a model saved before stays as stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from ..config import CodecConfig
from ..errors import FormatError
from ..version import WEIGHTS_VERSION, WEIGHTS_VERSIONS

WEIGHTS_DIR = Path(__file__).parent.parent / "weights"
PREVIOUS = "previous"  # the folder in ``weights/`` of earlier shipped models, one per model id
# Where models are looked up by id: the shipped one, then one folder per earlier shipped model
# (``weights/previous/<model id>/``), so files they wrote keep decoding. Tests replace the list.
MODEL_SEARCH_PATH: list[Path] = [WEIGHTS_DIR, WEIGHTS_DIR / PREVIOUS]
WEIGHTS_FILE = "codec.pt"
CONFIG_FILE = "config.json"
RECIPE_FILE = "recipe.json"  # optional: how the model was trained (train/recipe.py)


def model_id_for(weights: bytes, config: CodecConfig | dict,
                 version: int = WEIGHTS_VERSION) -> bytes:
    """The first ``MODEL_ID_SIZE`` (8) bytes of SHA-256 over the canonical config (as saved)
    and the weights file, by the rule of weights format ``version``: 2 hashes the whole config
    (every kind's fields; the shipped and earlier models), 3 only what the model reads of it
    (``CodecConfig.identity``: the shared fields and those of its own kinds)."""
    from ..formats.bitstream import MODEL_ID_SIZE  # here: the CLI's parser reads this module
    # without numpy, which the bitstream module imports (a tenth of a second of start-up)
    saved = asdict(config) if isinstance(config, CodecConfig) else config
    if version >= 3:
        saved = CodecConfig.identity(saved)
    canon = json.dumps(saved, sort_keys=True).encode()
    return hashlib.sha256(canon + b"\0" + weights).digest()[:MODEL_ID_SIZE]


def read_meta(directory: str | Path) -> dict:
    """A model folder's ``config.json``, its format version checked (``FormatError`` if not)."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / CONFIG_FILE).read_text())
    except (OSError, ValueError) as e:
        raise FormatError(f"cannot read model in {directory}: {e}") from None
    if not isinstance(meta, dict) or meta.get("format_version") not in WEIGHTS_VERSIONS:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise FormatError(f"model in {directory} has format version {version}, this code "
                          f"reads {' or '.join(map(str, WEIGHTS_VERSIONS))}")
    return meta


def model_files(meta: dict) -> list[str]:
    """The files of a saved model, by its ``config.json``: the weights, the config, its graphs."""
    graphs = meta.get("graphs") or {}
    return [WEIGHTS_FILE, CONFIG_FILE, *(g["file"] for g in graphs.values())]


def _saved_models(search: list[Path] | None = None):
    """``(folder, model id)`` of every model on the search path: each entry is a model folder
    (holding ``config.json``) or a folder of model folders."""
    for entry in MODEL_SEARCH_PATH if search is None else search:
        entry = Path(entry)
        folders = [entry] if (entry / CONFIG_FILE).is_file() else \
            sorted(p for p in entry.glob("*") if (p / CONFIG_FILE).is_file())
        for folder in folders:
            try:
                yield folder, bytes.fromhex(json.loads((folder / CONFIG_FILE).read_text())["model_id"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not a saved model: skipped


def model_dir_for_id(model_id: bytes, search: list[Path] | None = None) -> Path:
    """The folder of the model with this id (the shipped one, or an earlier one kept in
    ``weights/previous/``); ``FormatError`` naming the id when the package does not hold it."""
    known = []
    for folder, found in _saved_models(search):
        if found == bytes(model_id):
            return folder
        known.append(found.hex())
    raise FormatError(f"encoded by model {bytes(model_id).hex()}, which this codec does not hold "
                      f"(it has {', '.join(known) or 'none'}); decode it with the codec release "
                      f"that shipped that model")


def config_for_id(model_id: bytes, search: list[Path] | None = None) -> CodecConfig:
    """The config (frame geometry, code width) of the model with this id, without its weights."""
    return CodecConfig.from_dict(read_meta(model_dir_for_id(model_id, search))["config"])


def shipped_config() -> CodecConfig:
    """The shipped model's ``CodecConfig`` (its bitrates, rate, frame size), without its weights."""
    return CodecConfig.from_dict(read_meta(WEIGHTS_DIR)["config"])


def shipped_architecture() -> CodecConfig:
    """The shipped model's config less what belongs to its weights alone (the make-up gain):
    what a new model is built and trained as unless told otherwise."""
    return replace(shipped_config(), output_gain_db=())
