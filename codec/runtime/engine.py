"""The runtime engine: a model's ONNX graphs on ONNX Runtime, with numpy state and no torch.

A saved model folder holds three kinds of graph, each exported from the torch modules' own
``step`` (``model/export.py``) and checked against its SHA-256 in ``config.json`` when loaded:

* ``encoder<K>``: waveform ``[1, 1, N * hop]`` -> codes ``[K, N]``, the encoder and the first
  ``K`` levels of the residual search in one call. One graph per bitrate's ``K`` (and all
  levels): searching levels that are not sent costs per-frame time, and so does a second call
  per frame. All share one state layout, so a stream switches bitrate between frames; any
  other ``K`` takes the first rows of the smallest larger graph (``CodecConfig.encoder_size_for``);
* ``decoder``: codes ``[K, N]`` (any ``K``) -> waveform ``[1, 1, N * hop]``, ``delay`` late.

``N`` is free: a file runs a few calls per second of audio, a live stream one frame per call.
Every streaming state tensor is a graph input and output. A stream owns its state; the engine
(sessions, built at first use) is shared by every stream of the model.

The per-frame path (``LiveCall``) binds its buffers once (ONNX Runtime I/O binding) and alternates
two state sets, one read while the other is written, so a frame costs one copy and one call per
graph and allocates nothing.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import CodecConfig
from ..errors import FormatError
from .store import WEIGHTS_DIR, read_meta


@dataclass(frozen=True)
class FrameGraph:
    """A serialised ONNX graph and the names a runner binds: one data input and output, and the
    streaming state as paired inputs and outputs (same order, shapes in ``state_shapes``)."""

    model: bytes
    input_name: str
    output_name: str
    state_inputs: tuple[str, ...] = ()
    state_outputs: tuple[str, ...] = ()
    state_shapes: tuple[tuple[int, ...], ...] = ()

    def describe(self, file: str) -> dict:
        """Its record in ``config.json``."""
        return {"file": file, "sha256": hashlib.sha256(self.model).hexdigest(),
                "input": self.input_name, "output": self.output_name,
                "state_inputs": list(self.state_inputs), "state_outputs": list(self.state_outputs),
                "state_shapes": [list(s) for s in self.state_shapes]}


def load_graph(directory: str | Path, description: dict) -> FrameGraph:
    """A graph saved beside a model's weights; ``FormatError`` if its bytes do not match."""
    path = Path(directory) / description["file"]
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read the graph {path}: {e.strerror}") from None
    if hashlib.sha256(data).hexdigest() != description["sha256"]:
        raise FormatError(f"graph {path} is corrupted (SHA-256 mismatch)")
    return FrameGraph(data, description["input"], description["output"],
                      tuple(description["state_inputs"]), tuple(description["state_outputs"]),
                      tuple(tuple(s) for s in description["state_shapes"]))


class Runner:
    """One graph's ONNX Runtime session, on one CPU thread (a frame is far too small to split,
    and a thread pool would only add wake-ups). ``dims`` fixes free dimensions by name (the live
    path: one frame), which lets ONNX Runtime plan the shapes once instead of at every call."""

    def __init__(self, graph: FrameGraph, dims: dict[str, int] | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        for name, size in (dims or {}).items():
            opts.add_free_dimension_override_by_name(name, size)
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # Decaying streaming state can reach denormal floats, which cost ~100x per operation.
        opts.add_session_config_entry("session.set_denormal_as_zero", "1")
        self.graph = graph
        self.session = ort.InferenceSession(graph.model, opts, providers=["CPUExecutionProvider"])


class Engine:
    """A model as the runtime runs it: its config, id and synthesis delay, and its graphs.

    ``graphs(role)`` gives the graph of a role (``"encoder<K>"`` for each ``K`` of
    ``CodecConfig.encoder_sizes``, ``"decoder"``); each session is built the first time it is
    needed, one for any number of frames and one for the live path's single frame.
    """

    def __init__(self, config: CodecConfig, model_id: bytes, delay: int,
                 graphs: Callable[[str], FrameGraph]):
        self.config, self.model_id, self.delay = config, bytes(model_id), int(delay)
        self._graphs = graphs
        self._loaded: dict[str, FrameGraph] = {}
        self._runners: dict[tuple[str, bool], Runner] = {}

    @property
    def hop(self) -> int:
        return self.config.hop

    def graph(self, role: str) -> FrameGraph:
        if role not in self._loaded:
            self._loaded[role] = self._graphs(role)
        return self._loaded[role]

    def runner(self, role: str, live: bool = False) -> Runner:
        """The session of a role's graph; ``live``: specialised to one frame per call."""
        key = (role, live)
        if key not in self._runners:
            dims = {"frames": 1, "samples": self.hop} if live else None
            self._runners[key] = Runner(self.graph(role), dims)
        return self._runners[key]

    def encoder_role(self, num_codebooks: int) -> str:
        """The encoder graph that serves ``K`` codes: the smallest that searches at least ``K``."""
        return f"encoder{self.config.encoder_size_for(num_codebooks)}"


def load_engine(directory: str | Path | None = None) -> Engine:
    """The engine of a saved model (default: the shipped one) from its config and graphs;
    ``FormatError`` when the folder has no graphs (``scripts/export_graphs.py`` writes them)."""
    directory = Path(directory) if directory is not None else WEIGHTS_DIR
    meta = read_meta(directory)
    graphs = meta.get("graphs")
    if not isinstance(graphs, dict) or "delay" not in meta:
        raise FormatError(f"model in {directory} has no runtime graphs: export them with "
                          f"scripts/export_graphs.py {directory}")
    config = CodecConfig.from_dict(meta["config"])

    def graph(role: str) -> FrameGraph:
        if role not in graphs:
            raise FormatError(f"model in {directory} has no {role} graph")
        return load_graph(directory, graphs[role])
    return Engine(config, bytes.fromhex(meta["model_id"]), meta["delay"], graph)


@functools.lru_cache(maxsize=1)
def shipped_engine() -> Engine:
    """The engine of the model shipped in the package (loaded once)."""
    return load_engine()


class StreamState:
    """One stream's state for one graph: two buffer sets, one read while the other is written,
    swapped after each call (``phase`` says which holds the current state)."""

    def __init__(self, graph: FrameGraph):
        self.sets = [[np.zeros(s, np.float32) for s in graph.state_shapes] for _ in range(2)]
        self.phase = 0

    def _feeds(self, runner: Runner, data: np.ndarray) -> dict:
        g = runner.graph
        return {g.input_name: data, **dict(zip(g.state_inputs, self.sets[self.phase]))}

    def run(self, runner: Runner, data: np.ndarray) -> np.ndarray:
        """One call on ``data`` with the state carried over; a fresh output array."""
        out, *states = runner.session.run(None, self._feeds(runner, data))
        for buf, new in zip(self.sets[self.phase ^ 1], states):
            np.copyto(buf, new)
        self.phase ^= 1
        return out

    def peek(self, runner: Runner, data: np.ndarray) -> np.ndarray:
        """What ``run`` would return, with the state left as it is."""
        return runner.session.run([runner.graph.output_name], self._feeds(runner, data))[0]


class LiveCall:
    """The per-frame path: one graph's call on one stream's state with every buffer bound once
    (ONNX Runtime I/O binding), so a frame allocates nothing. Write the input into ``x``, call
    ``run()``, and read the output it returns before the next ``run``."""

    def __init__(self, state: StreamState, runner: Runner, x: np.ndarray):
        import onnxruntime as ort

        g = runner.graph
        self.x, self._state = x, state
        self.y = np.zeros_like(state.peek(runner, x))
        value = ort.OrtValue.ortvalue_from_numpy  # shares the numpy array's memory
        self._bindings = []
        for src, dst in ((0, 1), (1, 0)):  # one binding per phase
            io = runner.session.io_binding()
            io.bind_ortvalue_input(g.input_name, value(self.x))
            io.bind_ortvalue_output(g.output_name, value(self.y))
            for name, buf in zip(g.state_inputs, state.sets[src]):
                io.bind_ortvalue_input(name, value(buf))
            for name, buf in zip(g.state_outputs, state.sets[dst]):
                io.bind_ortvalue_output(name, value(buf))
            self._bindings.append(io)
        self._run = runner.session.run_with_iobinding

    def run(self) -> np.ndarray:
        state = self._state
        self._run(self._bindings[state.phase])
        state.phase ^= 1
        return self.y


class EngineEncoder:
    """One stream's encoder: waveform (whole frames) -> codes ``[K, N]``."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._state: StreamState | None = None  # every K's graph has this layout: the first's
        self._runners: dict[tuple[int, bool], Runner] = {}  # (K, live) -> session
        self._live: dict[int, LiveCall] = {}

    def prepare(self, num_codebooks: int, live: bool = True) -> Runner:
        """The session for ``K`` codes a frame (built now, not mid-call)."""
        key = (num_codebooks, live)
        if key not in self._runners:
            runner = self.engine.runner(self.engine.encoder_role(num_codebooks), live)
            self._state = self._state or StreamState(runner.graph)
            self._runners[key] = runner
        return self._runners[key]

    def live(self, num_codebooks: int) -> LiveCall:
        """The one-frame call for ``K`` codes: ``x`` is ``[1, 1, hop]`` float32, ``run()`` gives
        codes ``[K', 1]`` of which the first ``K`` rows are the frame's."""
        call = self._live.get(num_codebooks)
        if call is None:
            runner = self.prepare(num_codebooks, True)
            x = np.zeros((1, 1, self.engine.hop), np.float32)
            call = self._live[num_codebooks] = LiveCall(self._state, runner, x)
        return call

    def codes(self, wav: np.ndarray, num_codebooks: int, live: bool = False) -> np.ndarray:
        if live:  # one frame
            call = self.live(num_codebooks)
            np.copyto(call.x, np.reshape(wav, call.x.shape))
            return call.run()[:num_codebooks].copy()
        runner = self.prepare(num_codebooks, False)
        x = np.ascontiguousarray(wav, np.float32).reshape(1, 1, -1)
        return self._state.run(runner, x)[:num_codebooks]


class EngineDecoder:
    """One stream's decoder: codes ``[K, N]`` -> waveform ``[N * hop]``, ``delay`` late."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._state = StreamState(engine.graph("decoder"))
        self._live: dict[int, LiveCall] = {}

    def prepare(self, live: bool = True) -> None:
        self.engine.runner("decoder", live)

    def live(self, num_codebooks: int) -> LiveCall:
        """The one-frame call for ``K`` codes: ``x`` is ``[K, 1]`` int64, ``run()`` gives the
        frame's samples ``[1, 1, hop]``."""
        call = self._live.get(num_codebooks)
        if call is None:
            x = np.zeros((num_codebooks, 1), np.int64)
            call = LiveCall(self._state, self.engine.runner("decoder", True), x)
            self._live[num_codebooks] = call
        return call

    def samples(self, codes: np.ndarray, live: bool = False) -> np.ndarray:
        if live:  # one frame
            call = self.live(len(codes))
            np.copyto(call.x, codes)
            return call.run().reshape(-1).copy()
        codes = np.ascontiguousarray(codes, np.int64)
        return self._state.run(self.engine.runner("decoder"), codes).reshape(-1)
