"""ONNX graphs of one streaming step, exported from the torch modules themselves.

The modules' own ``step(x, state)`` is traced by torch's exporter, with the streaming state made
explicit: every tensor of the state structure that ``init_state`` returns (lists, dicts and
dataclasses of tensors, for any registered kind) becomes one graph input and one graph output,
in the same order, and a runner feeds each call's state outputs back as the next call's inputs.
So the fast path is derived from the one description of the model, never written a second time.

* The encoder graph takes one frame ``[1, 1, hop]`` and returns the codes of the first ``K``
  levels (the saved graph: every level; a residual search is coarse first, so its first ``K``
  codes are what a ``K``-level search finds, and every ``K`` shares one state layout).
* The decoder graph takes ``K`` codes (any ``K`` up to the model's), sums their codebook rows and
  returns one frame ``[1, 1, hop]``, ``delay`` samples late for a kind that declares a delay.
"""

from __future__ import annotations

import dataclasses
import io
import warnings
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

OPSET = 17


@dataclasses.dataclass
class FrameGraph:
    """A serialised ONNX model and the names and shapes a runner needs to bind it."""

    model: bytes
    input_name: str
    input_shape: tuple
    input_dtype: type
    output_name: str
    output_shape: tuple
    output_dtype: type
    state_inputs: list[str]
    state_outputs: list[str]
    state_shapes: list[tuple[int, ...]]


def state_leaves(state: Any) -> list[torch.Tensor]:
    """The non-empty tensors of a state structure, in a fixed order."""
    out: list[torch.Tensor] = []
    _walk(state, lambda t: out.append(t) or t)
    return out


def _walk(state: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to every non-empty tensor of ``state``, replacing it in place."""
    if isinstance(state, torch.Tensor):
        return fn(state) if state.numel() else state
    if isinstance(state, list):
        state[:] = [_walk(s, fn) for s in state]
    elif isinstance(state, dict):
        for k in state:
            state[k] = _walk(state[k], fn)
    elif dataclasses.is_dataclass(state):
        for f in dataclasses.fields(state):
            setattr(state, f.name, _walk(getattr(state, f.name), fn))
    elif state is not None:
        raise TypeError(f"cannot export a streaming state holding {type(state).__name__}")
    return state


def _with_leaves(template: Any, leaves: list[torch.Tensor]) -> Any:
    it = iter(leaves)
    return _walk(template, lambda _: next(it))


class _EncoderStep(nn.Module):
    def __init__(self, model: nn.Module, num_codebooks: int):
        super().__init__()
        self.encoder, self.levels = model.encoder, model.quantizer.levels[:num_codebooks]

    def forward(self, frame: torch.Tensor, *leaves: torch.Tensor):
        state = _with_leaves(self.encoder.init_state(1), list(leaves))
        residual = self.encoder.step(frame, state)[:, :, 0]  # [1, dim]
        codes = []
        for level in self.levels:
            idx = level.nearest(residual)
            residual = residual - level.lookup(idx)
            codes.append(idx)
        return (torch.cat(codes), *state_leaves(state))


class _DecoderStep(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.decoder = model.decoder
        levels = model.quantizer.levels
        # Codes stay in their low-dimensional space (``code_dim``) and each level's projection
        # maps them back, so the graph holds the codebooks at their own size.
        self.register_buffer("books", torch.cat([lvl.codebook for lvl in levels]))
        eye = torch.eye(model.config.dim)
        self.register_buffer("projections", torch.stack(
            [lvl.projection.t() if lvl.projected else eye for lvl in levels]))  # [L, d, dim]
        self.register_buffer("offsets", torch.arange(len(levels)) * levels[0].size)

    def forward(self, codes: torch.Tensor, *leaves: torch.Tensor):
        state = _with_leaves(self.decoder.init_state(1), list(leaves))
        k = codes.shape[0]
        rows = self.books[codes + self.offsets[:k]]                       # [K, code_dim]
        latents = torch.bmm(rows[:, None], self.projections[:k])[:, 0]   # [K, dim]
        z = latents.sum(0, keepdim=True)[:, :, None]                     # [1, dim, 1]
        return (self.decoder.step(z, state), *state_leaves(state))


def _export(step: nn.Module, example: torch.Tensor, state: Any, input_name: str,
            dynamic: dict, output_name: str, output_dtype: type) -> FrameGraph:
    leaves = state_leaves(state)
    names = [f"state_{i}" for i in range(len(leaves))]
    outs = [f"{n}_next" for n in names]
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(step.eval(), (example, *leaves), buf, dynamo=False,
                          opset_version=OPSET, input_names=[input_name, *names],
                          output_names=[output_name, *outs], dynamic_axes=dynamic,
                          do_constant_folding=True)
        output = step(example, *leaves)[0]
    graph = FrameGraph(buf.getvalue(), input_name, tuple(example.shape),
                       np.float32 if example.is_floating_point() else np.int64, output_name,
                       tuple(output.shape), output_dtype, names, outs,
                       [tuple(t.shape) for t in leaves])
    _check_inputs(graph)
    return graph


def _check_inputs(graph: FrameGraph) -> None:
    """Every state tensor must be a graph input (the exporter drops inputs that are unused)."""
    import onnx

    present = {i.name for i in onnx.load_from_string(graph.model).graph.input}
    missing = [n for n in (graph.input_name, *graph.state_inputs) if n not in present]
    if missing:
        raise ValueError(f"exported step does not use its inputs {missing}: a state tensor that "
                         "step() never reads must not be part of init_state()")


def encoder_graph(model: nn.Module, num_codebooks: int | None = None) -> FrameGraph:
    """One frame ``[1, 1, hop]`` float32 -> codes ``[K]`` int64 of the first ``num_codebooks``
    levels (default: every level). Every ``K`` has the same state layout."""
    k = model.config.num_codebooks if num_codebooks is None else num_codebooks
    frame = torch.zeros(1, 1, model.hop)
    return _export(_EncoderStep(model, k), frame, model.encoder.init_state(1), "frame", {},
                   "codes", np.int64)


def decoder_graph(model: nn.Module) -> FrameGraph:
    """Codes ``[K]`` int64 (any ``K`` up to the model's) -> one frame ``[1, 1, hop]`` float32."""
    codes = torch.zeros(model.config.num_codebooks, dtype=torch.long)
    graph = _export(_DecoderStep(model), codes, model.decoder.init_state(1), "codes",
                    {"codes": {0: "K"}}, "frame", np.float32)
    return dataclasses.replace(graph, input_shape=("K",))


# -- graphs saved beside the weights ---------------------------------------------------------
GRAPH_FILES = {"encoder": "encoder.onnx", "decoder": "decoder.onnx"}


def _describe(graph: FrameGraph, file: str) -> dict:
    import hashlib
    return {"file": file, "sha256": hashlib.sha256(graph.model).hexdigest(),
            "input": [graph.input_name, list(graph.input_shape), np.dtype(graph.input_dtype).name],
            "output": [graph.output_name, list(graph.output_shape),
                       np.dtype(graph.output_dtype).name],
            "state_inputs": graph.state_inputs, "state_outputs": graph.state_outputs,
            "state_shapes": [list(s) for s in graph.state_shapes]}


def save_graphs(model: nn.Module, directory) -> dict:
    """Export both graphs of ``model`` into ``directory`` (beside its weights) and return their
    description for ``config.json`` (file, SHA-256, names and shapes)."""
    from pathlib import Path
    directory = Path(directory)
    out = {}
    for role, build in (("encoder", encoder_graph), ("decoder", decoder_graph)):
        graph = build(model)
        (directory / GRAPH_FILES[role]).write_bytes(graph.model)
        out[role] = _describe(graph, GRAPH_FILES[role])
    return out


def load_graph(directory, description: dict) -> FrameGraph:
    """A graph saved by ``save_graphs``; ``FormatError`` if its bytes do not match the SHA-256."""
    import hashlib
    from pathlib import Path
    from ..errors import FormatError
    path = Path(directory) / description["file"]
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read the graph {path}: {e.strerror}") from None
    if hashlib.sha256(data).hexdigest() != description["sha256"]:
        raise FormatError(f"graph {path} is corrupted (SHA-256 mismatch)")
    (iname, ishape, itype), (oname, oshape, otype) = description["input"], description["output"]
    return FrameGraph(data, iname, tuple(ishape), np.dtype(itype).type, oname, tuple(oshape),
                      np.dtype(otype).type, description["state_inputs"],
                      description["state_outputs"], [tuple(s) for s in description["state_shapes"]])
