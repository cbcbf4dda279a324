"""ONNX graphs of the model's streaming steps, exported from the torch modules themselves.

The modules' own ``step(x, state)`` is traced by torch's exporter, with the streaming state made
explicit: every tensor of the state structure that ``init_state`` returns (lists, dicts and
dataclasses of tensors, for any registered kind) becomes one graph input and one graph output,
in the same order, and a runner feeds each call's state outputs back as the next call's inputs.
So the fast path is derived from the one description of the model, never written a second time.
The graphs and what they compute are listed in ``runtime/engine.py``, which runs them without torch.
Every graph takes any number of frames ``N`` per call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..runtime.engine import FrameGraph
from .quantize import codes_to_latent

OPSET = 17
EXAMPLE_FRAMES = 2  # traced with two frames, so that no frame axis is taken for a constant 1
# torch's exporter warns of every node whose shape ONNX cannot infer (pytorch issue 81693): of
# each 8-bit layer (MatMulNBits, nn/int8.py) in each graph, 32 lines for the shipped model
KNOWN_WARNING = b"The shape inference of com.microsoft::MatMulNBits type is missing"


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
    """Waveform ``[1, 1, N * hop]`` -> codes ``[K, N]``: the encoder's step, then the
    quantizer's own coarse-first search of its first ``K`` levels (its beam from the config)."""

    def __init__(self, model: nn.Module, num_codebooks: int):
        super().__init__()
        self.encoder, self.quantizer, self.k = model.encoder, model.quantizer, num_codebooks
        self.beam = model.config.search_for(num_codebooks)[1]

    def forward(self, wav: torch.Tensor, *leaves: torch.Tensor):
        state = _with_leaves(self.encoder.init_state(1), list(leaves))
        codes = self.quantizer.search(self.encoder.step(wav, state)[0].t(), self.k, self.beam)
        return (codes, *state_leaves(state))


class _DecoderStep(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.decoder = model.decoder
        books, projections, offsets = model.quantizer.tables()  # quantize.codes_to_latent's
        self.register_buffer("books", books.detach().clone())
        self.register_buffer("projections", projections.detach().clone())  # [L, d, dim]
        self.register_buffer("offsets", offsets)
        bias = model.quantizer.depth_bias
        self.register_buffer("depth_bias", None if bias is None else bias.detach().clone())
        c = model.config  # the output gain for each K; no node without a calibration
        self.register_buffer("gains", torch.tensor(c.output_gains()) if c.output_gain_db else None)

    def forward(self, codes: torch.Tensor, *leaves: torch.Tensor):
        state = _with_leaves(self.decoder.init_state(1), list(leaves))
        k = codes.shape[0]
        latents = codes_to_latent(codes, self.books, self.projections, self.offsets,
                                  self.depth_bias)                 # [N, dim]
        wav = self.decoder.step(latents.t()[None], state)
        if self.gains is not None:
            wav = wav * self.gains[k: k + 1]
        return (wav, *state_leaves(state))


def _export(step: nn.Module, example: torch.Tensor, state: Any, names: tuple[str, str],
            dynamic: dict) -> FrameGraph:
    leaves = state_leaves(state)
    ins = [f"state_{i}" for i in range(len(leaves))]
    outs = [f"{n}_next" for n in ins]
    buf = io.BytesIO()
    with _known_warning_dropped(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(step.eval(), (example, *leaves), buf, dynamo=False,
                          opset_version=OPSET, input_names=[names[0], *ins],
                          output_names=[names[1], *outs], dynamic_axes=dynamic,
                          do_constant_folding=True, custom_opsets={"com.microsoft": 1})
    graph = FrameGraph(buf.getvalue(), names[0], names[1], tuple(ins), tuple(outs),
                       tuple(tuple(t.shape) for t in leaves))
    _check_inputs(graph)
    return graph


@contextlib.contextmanager
def _known_warning_dropped():
    """Hold back ``KNOWN_WARNING``: torch's C++ logging writes it to file descriptor 2, out of
    reach of Python's warning filters. What else reaches descriptor 2 meanwhile is passed on
    after the block (errors raise as exceptions, unchanged)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = b"".join(line for line in caught.read().splitlines(keepends=True)
                            if KNOWN_WARNING not in line)
            while rest:
                rest = rest[os.write(2, rest):]


def _check_inputs(graph: FrameGraph) -> None:
    """Every state tensor must be a graph input (the exporter drops inputs that are unused)."""
    import onnx

    present = {i.name for i in onnx.load_from_string(graph.model).graph.input}
    missing = [n for n in (graph.input_name, *graph.state_inputs) if n not in present]
    if missing:
        raise ValueError(f"exported step does not use its inputs {missing}: a state tensor that "
                         "step() never reads must not be part of init_state()")


def encoder_graph(model: nn.Module, num_codebooks: int) -> FrameGraph:
    """Waveform ``[1, 1, N * hop]`` float32 -> codes ``[K, N]`` int64 of the first ``K`` levels.
    Every ``K`` has the same state layout."""
    wav = torch.zeros(1, 1, EXAMPLE_FRAMES * model.hop)
    return _export(_EncoderStep(model, num_codebooks), wav, model.encoder.init_state(1),
                   ("wav", "codes"), {"wav": {2: "samples"}, "codes": {1: "frames"}})


def decoder_graph(model: nn.Module) -> FrameGraph:
    """Codes ``[K, N]`` int64 (any ``K`` up to the model's) -> waveform ``[1, 1, N * hop]``."""
    codes = torch.zeros(model.config.num_codebooks, EXAMPLE_FRAMES, dtype=torch.long)
    return _export(_DecoderStep(model), codes, model.decoder.init_state(1), ("codes", "wav"),
                   {"codes": {0: "K", 1: "frames"}, "wav": {2: "samples"}})


def graph_for(model: nn.Module, role: str) -> FrameGraph:
    """The graph of one role (``runtime/engine.py``): ``encoder<K>`` or ``decoder``."""
    if role == "decoder":
        return decoder_graph(model)
    if role.startswith("encoder") and role[7:].isdigit():
        return encoder_graph(model, int(role[7:]))
    raise ValueError(f"no graph role {role!r}")


def graph_roles(model: nn.Module) -> list[str]:
    return [*(f"encoder{k}" for k in model.config.encoder_sizes()), "decoder"]


def save_graphs(model: nn.Module, directory: str | Path) -> dict:
    """Export every graph of ``model`` into ``directory`` (beside its weights) and return what
    ``config.json`` records of them: ``{"delay": samples, "graphs": {role: description}}``."""
    directory = Path(directory)
    graphs = {}
    for role in graph_roles(model):
        graph = graph_for(model, role)
        (directory / f"{role}.onnx").write_bytes(graph.model)
        graphs[role] = graph.describe(f"{role}.onnx")
    return {"delay": model.delay, "graphs": graphs}
