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

from .version import FILE_VERSION, PACKET_VERSION, WEIGHTS_VERSION, __version__

_WHERE = {
    "compress": "api", "decompress": "api", "encode_file": "api", "decode_file": "api",
    "load_model": "api",  # torch, imported when called
    "StreamEncoder": "streaming", "StreamDecoder": "streaming",
    "Engine": "engine", "load_engine": "engine",
    "CodecConfig": "config",
    "ArgumentError": "errors", "AudioInputError": "errors", "FormatError": "errors",
    "ClippingWarning": "errors",
    "Codec": "model", "build_codec": "model", "load_model_for_id": "model",  # torch
}

__all__ = ["FILE_VERSION", "PACKET_VERSION", "WEIGHTS_VERSION", "__version__", *_WHERE]


def __getattr__(name: str):
    if name in _WHERE:
        import importlib
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
