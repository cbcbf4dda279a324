"""A torch ``Codec`` run on the runtime engine (``runtime/engine.py``): its graphs on ONNX Runtime.

The graphs come from the model's folder when they were saved with these very weights (the
tensors are unchanged since loading), else they are exported from the modules now, each the
first time a stream needs it (about 0.5 s for the shipped model). One engine is kept per model
and weights (``weights_cache.py``): training or ``load_state_dict`` gives a new one, and a
stream keeps the engine of the weights it started with.
"""

from __future__ import annotations

from torch import nn

from ..runtime.engine import Engine, load_graph
from ..runtime.store import read_meta
from .export import graph_for
from .weights_cache import cached, fingerprint


def engine_for(model: nn.Module) -> Engine:
    """The engine of a torch ``Codec``, shared by all its streams while its weights stay."""
    def build() -> Engine:
        saved = getattr(model, "saved_graphs", None)
        described = {}
        if saved is not None and saved[1] == fingerprint(model):
            described = read_meta(saved[0]).get("graphs", {})

        def graph(role: str):
            if role in described:
                return load_graph(saved[0], described[role])
            return graph_for(model, role)
        return Engine(model.config, model.model_id, model.delay, graph)
    return cached(model, "engine", build)
