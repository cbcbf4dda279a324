"""Issue 26, part 2's feedback arm: the spectral decoder fed its own past output.

An experiment, not a kind of the package: it trains and scores on the torch modules, but has no
exported graphs (the graphs take any number of frames per call, and this decoder must run one
frame at a time). It moves into ``codec/model/nn/`` with export only if it wins the bake-off.

Each latent frame's decoder input is its latent plus what the decoder heard itself say: the
compressed STFT (the model's own analysis transform, one ``hop`` window) of the last ``hop``
samples it completed, zeros before the first frame. Autoregressive vocoders feed back their
output so that each frame continues the phase of the last; here the synthesis is overlap-add of
frames whose phase the head must otherwise guess from the codes alone.

Inference (``step``, and ``forward`` out of training) is exact: one frame after another. Training
cannot afford 50 sequential steps per crop, so it iterates towards that fixed point instead: the
frames are decoded all at once ``PASSES`` times without gradient, each pass fed the previous
pass's output (the first, silence), then once more with gradient. The model so learns from what
it produces itself, not from the clean signal, which it never has at the receiver.

Run any script with the kind registered (``--model decoder=spectral-feedback``):
    python experiments/feedback_decoder.py scripts/train.py ARGS...
"""

from __future__ import annotations

import runpy
import sys

import torch

from codec.config import KIND_CONFIGS, SpectralConfig
from codec.model import export
from codec.model.nn import registry
from codec.model.nn.spectral import SpectralDecoder, Transform, _Blocks

KIND = "spectral-feedback"
PASSES = 2  # gradient-free passes before the trained one


class FeedbackSpectralDecoder(SpectralDecoder):
    """``SpectralDecoder`` whose every frame also sees the spectrum of its last output hop."""

    def __init__(self, hop: int, dim: int, transform: str = "stft", width: int = 256,
                 blocks: int = 6, expansion: int = 2, kernel: int = 5, int8: bool = False,
                 window: int = 0, step: int = 0):
        super().__init__(hop, dim, transform, width, blocks, expansion, kernel, int8,
                         window=window, step=step)
        self.listen = Transform(transform, hop)
        self.net = _Blocks(dim + self.listen.coefficients, width, self.synthesis_outputs, blocks,
                           expansion, kernel, int8)

    def _heard(self, chunks: torch.Tensor) -> torch.Tensor:
        """Output hops ``[B, F, hop]`` -> their compressed spectra ``[B, F, coefficients]``."""
        return self.listen.compress(self.listen.analysis(chunks))

    def _all_at_once(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Every frame of ``z`` decoded at once, each fed the hop of ``y`` before its own."""
        batch = z.shape[0]
        before = torch.cat([y.new_zeros(batch, 1, self.hop), y[..., :-self.hop]], -1)
        heard = self._heard(before.reshape(batch, -1, self.hop))
        frames = self.frames(self.net(torch.cat([z.transpose(1, 2), heard], -1)))
        return self._overlap_add(frames, frames.new_zeros(batch, 1, self.delay))[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.step(z, self.init_state(z.shape[0]))
        y = z.new_zeros(z.shape[0], 1, z.shape[-1] * self.hop)
        with torch.no_grad():
            for _ in range(PASSES):
                y = self._all_at_once(z, y)
        return self._all_at_once(z, y)

    def init_state(self, batch: int = 1) -> dict:
        state = super().init_state(batch)
        state["heard"] = self.transform.synthesis_basis.new_zeros(batch, 1, self.hop)
        return state

    def step(self, z: torch.Tensor, state: dict) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            raise NotImplementedError(f"the {KIND} decoder has no graphs: a traced graph would "
                                      "run as many frames as the example it was traced with")
        out = []
        for f in range(z.shape[-1]):
            x = torch.cat([z[..., f:f + 1].transpose(1, 2), self._heard(state["heard"])], -1)
            y, state["tail"] = self._overlap_add(self.frames(self.net.step(x, state["net"])),
                                                 state["tail"])
            state["heard"] = y
            out.append(y)
        return torch.cat(out, -1)


def _graphs_unless_feedback(model, directory):
    """``save_graphs``, except for this kind: its models are saved with weights only."""
    return {} if isinstance(model.decoder, FeedbackSpectralDecoder) \
        else _save_graphs(model, directory)


_save_graphs, export.save_graphs = export.save_graphs, _graphs_unless_feedback
KIND_CONFIGS[KIND] = SpectralConfig
registry.DECODERS[KIND] = registry._spectral_decoder(FeedbackSpectralDecoder)

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(f"usage: {sys.argv[0]} SCRIPT [ARGS...]")
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(__import__("pathlib").Path(sys.argv[0]).resolve().parent))
    runpy.run_path(sys.argv[0], run_name="__main__")
