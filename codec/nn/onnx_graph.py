"""ONNX graphs of one frame of the encoder (with the residual VQ search) and of the decoder.

The graphs are built straight from the model's layers with ``onnx.helper``, so they hold the
same weights and the same padding maths as ``conv.py``, with streaming state made explicit:
every layer that remembers the past gets one state input and one state output, and a runner
feeds each call's state outputs back as the next call's state inputs.

* A causal convolution with context ``c`` concatenates its state (the last ``c`` input steps)
  before the new chunk, convolves without padding, and outputs the last ``c`` steps as its state.
* A causal transposed convolution (kernel ``stride + overlap``) adds its state to the first
  ``overlap`` outputs and outputs the ``overlap`` steps that spill past the chunk, bias excluded.
* The residual VQ search is unrolled over ``K`` levels: scores ``|c|^2 - 2 r.c`` (one Gemm,
  after a MatMul into the level's subspace for low-dimensional codebooks), ArgMin, subtract the
  chosen code; so the encoder graph is built per number of codebooks.
* The decoder graph takes any number of codes: it sums their codebook rows, then decodes.

Shapes are static but for the decoder's code count, so ONNX Runtime plans memory once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from torch import nn

from .conv import CausalConv1d, CausalConvTranspose1d
from .seanet import ResidualUnit, StreamingSequential

OPSET = 17
IR_VERSION = 8  # the oldest IR that opset 17 allows, so older ONNX Runtime releases load it


@dataclass
class FrameGraph:
    """A serialised ONNX model and the names and shapes a runner needs to bind it."""

    model: bytes
    input_name: str
    input_shape: tuple[int, ...]
    input_dtype: type
    output_name: str
    output_shape: tuple[int, ...]
    output_dtype: type
    state_inputs: list[str]
    state_outputs: list[str]
    state_shapes: list[tuple[int, ...]]


@dataclass
class _Builder:
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    state_inputs: list = field(default_factory=list)
    state_outputs: list = field(default_factory=list)
    state_shapes: list = field(default_factory=list)
    count: int = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, value: np.ndarray, prefix: str = "w") -> str:
        from onnx import numpy_helper

        name = self.fresh(prefix)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def ints(self, *values: int) -> str:
        return self.const(np.array(values, np.int64), "i")

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        from onnx import helper

        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def state(self, shape: tuple[int, ...]) -> str:
        name = f"state_in_{len(self.state_inputs)}"
        self.state_inputs.append(name)
        self.state_shapes.append(shape)
        return name

    def time_slice(self, x: str, start: int, stop: int) -> str:
        return self.op("Slice", [x, self.ints(start), self.ints(stop), self.ints(2)])

    def finish(self, input_name: str, input_shape: tuple, input_dtype: type,
               output: str, output_shape: tuple, output_dtype: type) -> FrameGraph:
        from onnx import TensorProto, helper

        inputs = [helper.make_tensor_value_info(
            input_name, helper.np_dtype_to_tensor_dtype(np.dtype(input_dtype)), list(input_shape))]
        inputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
                   for n, s in zip(self.state_inputs, self.state_shapes)]
        # Give the outputs stable names (runners bind them by name) by renaming the tensors;
        # none of them feeds another node, so only the producing node changes.
        names = ["output", *(f"state_out_{i}" for i in range(len(self.state_outputs)))]
        renamed = dict(zip([output, *self.state_outputs], names))
        for node in self.nodes:
            node.output[:] = [renamed.get(o, o) for o in node.output]
        outputs = [helper.make_empty_tensor_value_info(n) for n in names]
        graph = helper.make_graph(self.nodes, "frame", inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="codec")
        model.ir_version = IR_VERSION
        return FrameGraph(model.SerializeToString(), input_name, tuple(input_shape), input_dtype,
                          "output", tuple(output_shape), output_dtype,
                          list(self.state_inputs), names[1:], list(self.state_shapes))


def _weights(t) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def _layers(b: _Builder, module: nn.Module, x: str, length: int) -> tuple[str, int]:
    """Add ``module`` applied to ``x`` ``[1, C, length]``; returns the output and its length."""
    if isinstance(module, StreamingSequential):
        for child in module:
            x, length = _layers(b, child, x, length)
        return x, length
    if isinstance(module, ResidualUnit):
        y, _ = _layers(b, module.block, x, length)
        return b.op("Add", [x, y]), length
    if isinstance(module, nn.ELU):
        return b.op("Elu", [x], alpha=float(module.alpha)), length
    if isinstance(module, CausalConv1d):
        conv = module.conv
        full = x
        if module.context > 0:
            state = b.state((1, conv.in_channels, module.context))
            full = b.op("Concat", [state, x], axis=2)
            b.state_outputs.append(b.time_slice(full, length, length + module.context))
        y = b.op("Conv", [full, b.const(_weights(conv.weight)), b.const(_weights(conv.bias))],
                 kernel_shape=[conv.kernel_size[0]], strides=[conv.stride[0]],
                 dilations=[conv.dilation[0]], group=conv.groups)
        return y, length // module.stride
    if isinstance(module, CausalConvTranspose1d):
        conv, s, o = module.conv, module.stride, module.overlap
        y = b.op("ConvTranspose", [x, b.const(_weights(conv.weight))],
                 kernel_shape=[conv.kernel_size[0]], strides=[s])  # [1, C, length * s + o]
        n = length * s
        if o > 0:
            state = b.state((1, conv.out_channels, o))
            head = b.op("Add", [b.time_slice(y, 0, o), state])
            b.state_outputs.append(b.time_slice(y, n, n + o))
            y = b.op("Concat", [head, b.time_slice(y, o, n)], axis=2)
        return b.op("Add", [y, b.const(_weights(conv.bias)[None, :, None])]), n
    raise TypeError(f"no ONNX conversion for {type(module).__name__}")


def encoder_graph(model: nn.Module, num_codebooks: int) -> FrameGraph:
    """One frame ``[1, 1, hop]`` float32 -> codes ``[num_codebooks]`` int64."""
    b = _Builder()
    z, length = _layers(b, model.encoder, "frame", model.hop)
    dim = model.config.dim
    residual = b.op("Reshape", [z, b.ints(length, dim)])  # [1, dim]: one latent per frame
    codes = []
    for level in model.quantizer.levels[:num_codebooks]:
        book = _weights(level.codebook)  # [size, code_dim]
        x = b.op("MatMul", [residual, b.const(_weights(level.projection))]) \
            if level.projected else residual
        scores = b.op("Gemm", [x, b.const(book.T * -2.0), b.const((book * book).sum(-1))])
        idx = b.op("ArgMin", [scores], axis=1, keepdims=0)  # [1]
        latent = b.const(_weights(level.latent_codebook()))  # [size, dim]
        residual = b.op("Sub", [residual, b.op("Gather", [latent, idx], axis=0)])
        codes.append(idx)
    out = b.op("Concat", codes, axis=0) if codes else b.const(np.zeros(0, np.int64))
    return b.finish("frame", (1, 1, model.hop), np.float32, out, (num_codebooks,), np.int64)


def decoder_graph(model: nn.Module) -> FrameGraph:
    """Codes ``[K]`` int64 (any ``K`` up to the model's codebooks) -> one frame ``[1, 1, hop]``."""
    b = _Builder()
    books = np.concatenate([_weights(lvl.latent_codebook()) for lvl in model.quantizer.levels])
    size, levels = model.quantizer.levels[0].size, len(model.quantizer.levels)
    offsets = b.op("Slice", [b.const(np.arange(levels, dtype=np.int64) * size), b.ints(0),
                             b.op("Shape", ["codes"])])                         # [K]
    rows = b.op("Gather", [b.const(books), b.op("Add", ["codes", offsets])], axis=0)  # [K, dim]
    z = b.op("ReduceSum", [rows, b.ints(0)], keepdims=1)                              # [1, dim]
    z = b.op("Unsqueeze", [z, b.ints(2)])                                              # [1, dim, 1]
    wav, _ = _layers(b, model.decoder, z, 1)
    return b.finish("codes", ("K",), np.int64, wav, (1, 1, model.hop), np.float32)
