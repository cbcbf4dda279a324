"""The per-frame path on ONNX Runtime (the optional ``fast`` extra): one session call per frame.

A 20 ms frame costs a few hundred microseconds of arithmetic spread over about a hundred small
operations, so per-call overheads decide the speed. ONNX Runtime runs the whole frame (the
encoder and the VQ search, or the codebook lookup and the decoder) as one graph exported from
the model's own ``step`` (``export.py``) at well under a microsecond per operation.

The streaming state never leaves ONNX Runtime's view: each stream owns two sets of state buffers
and two I/O bindings, one reading set A and writing set B, the other the reverse, and alternates
between them. A frame then costs one copy of the input and one ``run_with_iobinding``.

Sessions are built once per model and weights, and shared by all streams.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

import numpy as np
from torch import nn

from .export import FrameGraph, decoder_graph, encoder_graph, load_graph
from .weights_cache import cached, fingerprint


def available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` are installed (``pip install 'codec[fast]'``)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def frame_session(graph: FrameGraph):
    """An ONNX Runtime session of ``graph`` on one CPU thread."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    # One frame is far too small to split across threads; a pool would only add wake-ups.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(graph.model, opts, providers=["CPUExecutionProvider"])


class FrameRunner:
    """A session and its graph, shared by every stream of a model."""

    def __init__(self, graph: FrameGraph):
        self.graph = graph
        self.session = frame_session(graph)


class StreamState:
    """One stream's state: two buffer sets, and per runner two I/O bindings that alternate
    between them (one reads set A and writes set B, the other the reverse)."""

    def __init__(self):
        self._sets: list[list[np.ndarray]] | None = None
        self._bindings: dict[object, tuple] = {}
        self._phase = 0  # which set holds the current state

    def _bind(self, runner: FrameRunner, input_shape: tuple[int, ...]) -> tuple:
        import onnxruntime as ort

        g = runner.graph
        if self._sets is None:
            self._sets = [[np.zeros(s, np.float32) for s in g.state_shapes] for _ in range(2)]
        if [b.shape for b in self._sets[0]] != [tuple(s) for s in g.state_shapes]:
            raise ValueError("runners of one stream must share their state layout")
        x, y = np.zeros(input_shape, g.input_dtype), np.zeros(g.output_shape, g.output_dtype)
        value = ort.OrtValue.ortvalue_from_numpy  # shares the numpy array's memory
        pair = []
        for src, dst in ((0, 1), (1, 0)):
            io = runner.session.io_binding()
            io.bind_ortvalue_input(g.input_name, value(x))
            io.bind_ortvalue_output(g.output_name, value(y))
            for name, buf in zip(g.state_inputs, self._sets[src]):
                io.bind_ortvalue_input(name, value(buf))
            for name, buf in zip(g.state_outputs, self._sets[dst]):
                io.bind_ortvalue_output(name, value(buf))
            pair.append(io)
        return x, y, pair

    def run(self, key: object, runner: FrameRunner, data: np.ndarray) -> np.ndarray:
        """Run one frame through ``runner``, bound on first use of ``key`` (the caller keeps one
        runner per key, and the key tells the input's shape): a view of the output buffer, valid
        until the next call."""
        bound = self._bindings.get(key)
        if bound is None:
            bound = self._bindings[key] = self._bind(runner, data.shape)
        x, y, pair = bound
        x.reshape(-1)[:] = data.reshape(-1)
        runner.session.run_with_iobinding(pair[self._phase])
        self._phase ^= 1
        return y


def _runner(model: nn.Module, role: str, export: Callable[[], FrameGraph],
            saved_ok: bool = True) -> FrameRunner:
    """The session of the graph saved with the model's weights when they are unchanged since
    loading (SHA-256 checked), else of a graph exported now."""
    def build() -> FrameRunner:
        saved = getattr(model, "saved_graphs", None)
        if saved_ok and saved is not None and role in saved[1] and saved[2] == fingerprint(model):
            return FrameRunner(load_graph(saved[0], saved[1][role]))
        return FrameRunner(export())
    return cached(model, ("onnxruntime", role), build)


class OnnxFrameEncoder:
    """One frame of float32 samples -> its ``K`` codes, on ONNX Runtime.

    The saved graph searches every level; a lower ``K`` gets a graph that stops at level ``K``
    (exported at the first frame that needs it, about 0.5 s once per model), since the search
    of the levels not sent costs per-frame time. All share one state layout, so a bitrate
    switch keeps the stream's state. A stream keeps the sessions of the weights it started with.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self._state = StreamState()
        self._runners: dict[int, FrameRunner] = {}

    def prepare(self, num_codebooks: int) -> FrameRunner:
        runner = self._runners.get(num_codebooks)
        if runner is None:
            full = num_codebooks == self.model.config.num_codebooks
            runner = self._runners[num_codebooks] = _runner(
                self.model, "encoder" if full else f"encoder{num_codebooks}",
                lambda: encoder_graph(self.model, num_codebooks), saved_ok=full)
        return runner

    def codes(self, frame: np.ndarray, num_codebooks: int) -> np.ndarray:
        frame = frame.reshape(1, 1, -1)
        return self._state.run(num_codebooks, self.prepare(num_codebooks), frame).copy()


class OnnxFrameDecoder:
    """``K`` codes (any ``K``) -> one frame of float32 samples, on ONNX Runtime."""

    def __init__(self, model: nn.Module):
        self._state = StreamState()
        self._runner = _runner(model, "decoder", lambda: decoder_graph(model))

    def samples(self, codes: np.ndarray) -> np.ndarray:
        return self._state.run(len(codes), self._runner, codes).reshape(-1).copy()
