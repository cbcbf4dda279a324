"""The torch model (``pip install 'codec[train]'``): defines, trains and exports what the runtime
runs.

``codec.py`` (``Codec``: encoder -> residual VQ -> decoder; built, saved, loaded), ``quantize.py``
(the residual VQ), ``nn/`` (the kinds of encoder and decoder, by name in ``nn/registry.py``, and
their layers), ``export.py`` (the per-frame ONNX graphs), ``onnx_runtime.py`` (a ``Codec`` on the
runtime engine), ``eager.py`` (the torch modules' own ``step``, the reference the graphs are
tested against) and ``weights_cache.py``. It may import the runtime and the formats; they never
import it.
"""

from ..config import CodecConfig
from ..runtime.store import (CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE, config_for_id,
                             model_dir_for_id)
from .codec import Codec, build_codec, load_model, load_model_for_id, save_model

__all__ = ["CONFIG_FILE", "WEIGHTS_DIR", "WEIGHTS_FILE", "Codec", "CodecConfig", "build_codec",
           "config_for_id", "load_model", "load_model_for_id", "model_dir_for_id", "save_model"]
