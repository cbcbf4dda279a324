"""A learned speech codec: speech in 20 ms frames at 1.5 to 9 kbps (the shipped model).

    import codec
    data = codec.compress(wav, sample_rate, bitrate=6)   # bytes
    out, rate = codec.decompress(data)                   # float32, the model's rate

Live streams: ``StreamEncoder(bitrate=6).encode(frame) -> payload`` and
``StreamDecoder().decode(payload or None) -> frame``.

The runtime (all of the above, and the ``codec`` command) runs the shipped ONNX graphs on numpy
and ONNX Runtime, without torch. ``load_model()`` gives the torch ``Codec`` that defines and
trains the model (``pip install 'codec[train]'``). Every name is imported on first use, so that
``codec --version`` loads nothing and the runtime never loads torch.
"""

import functools

from .version import FILE_VERSION, PACKET_VERSION, WEIGHTS_VERSION, __version__

_WHERE = {
    "compress": "runtime.api", "decompress": "runtime.api", "encode_file": "runtime.api",
    "decode_file": "runtime.api",
    "StreamEncoder": "runtime.streaming", "StreamDecoder": "runtime.streaming",
    "Engine": "runtime.engine", "load_engine": "runtime.engine",
    "CodecConfig": "config",
    "ArgumentError": "errors", "AudioInputError": "errors", "FormatError": "errors",
    "ClippingWarning": "errors",
    "Codec": "model", "build_codec": "model", "load_model_for_id": "model",  # torch
}

__all__ = ["FILE_VERSION", "PACKET_VERSION", "WEIGHTS_VERSION", "__version__", "load_model",
           *_WHERE]


def load_model(directory=None):
    """The torch ``Codec`` (for research and training; needs torch): the shipped model, cached,
    or the model saved in ``directory``. The runtime needs none: see ``load_engine``. Here, in
    the public API above both worlds, so that the runtime never imports the torch model."""
    try:
        from .model import load_model as load
    except ModuleNotFoundError as e:
        if e.name not in ("torch", "torchaudio"):
            raise
        raise ModuleNotFoundError(f"codec.load_model() needs {e.name}: pip install "
                                  "'codec[train]' (the runtime needs neither: codec.compress, "
                                  "codec.StreamEncoder() run without torch)", name=e.name) from None
    return _shipped_codec() if directory is None else load(directory)


@functools.lru_cache(maxsize=1)
def _shipped_codec():
    from .model import load_model as load
    return load()


def __getattr__(name: str):
    if name in _WHERE:
        import importlib
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
