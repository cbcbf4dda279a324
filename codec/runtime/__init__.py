"""The runtime: numpy and ONNX Runtime, no torch.

``api.py`` (files and bytes), ``streaming.py`` (streams and the one-frame API), ``engine.py``
(a model's ONNX graphs), ``store.py`` (model folders, lookup by id), ``audio.py`` (audio I/O,
resampling), ``clipping.py`` and ``signals.py`` (CLI support). It imports the formats
(``codec.formats``), ``codec.config`` and ``codec.errors``, never the torch model
(``codec.model``); ``tests/test_imports.py`` holds it to that. Nothing is gathered here, so
that importing one module loads only what it needs.
"""
