"""The torch model: ``Codec(encoder, quantizer, decoder)``, built, saved and loaded.

A model is built from components passed in; ``build_codec(config)`` is the factory that holds the
hyper-parameters (``codec/config.py``). Weights are saved as a plain tensor dict (loaded with
``weights_only=True``) next to ``config.json`` (``runtime/store.py``: the folder layout, the model
id and lookup by id). This is the entry point for research and training; the runtime
(``runtime/engine.py``) runs the ONNX graphs exported from these modules without importing torch.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from ..config import CodecConfig
from ..errors import FormatError
from ..formats.bitstream import MODEL_ID_SIZE
from ..runtime.store import (CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE, model_dir_for_id,
                             model_id_for, read_meta, shipped_architecture)
from ..version import WEIGHTS_VERSION
from .nn.registry import build_decoder, build_encoder
from .quantize import QuantizerOutput, ResidualVQ

__all__ = ["Codec", "build_codec", "load_model", "load_model_for_id", "save_model"]

# Buffers that only training needs; left out of the shipped weights to keep them small.
_TRAINING_ONLY = ("ema_count", "ema_sum", "idle")


class Codec(nn.Module):
    """Encoder -> residual VQ -> decoder, on mono float waveforms at ``config.sample_rate``."""

    def __init__(self, config: CodecConfig, encoder: nn.Module, quantizer: ResidualVQ,
                 decoder: nn.Module):
        super().__init__()
        self.config = config
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.model_id = bytes(MODEL_ID_SIZE)  # set by ``load_model``; all zeros for an unsaved model

    @property
    def hop(self) -> int:
        return self.config.hop

    def runtime_engine(self):
        """This model's graphs on ONNX Runtime (``onnx_runtime.py``): what its streams run
        by default, shared by them while the weights stay."""
        from .onnx_runtime import engine_for
        return engine_for(self)

    def eager_streams(self) -> tuple[type, type]:
        """The per-stream encoder and decoder classes that run these torch modules' ``step``
        (``eager.py``, ``backend="eager"``)."""
        from .eager import EagerDecoder, EagerEncoder
        return EagerEncoder, EagerDecoder

    @property
    def delay(self) -> int:
        """Samples by which the decoder's output lags the input (its synthesis delay)."""
        return self.decoder.delay

    def pad(self, wav: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``[B, 1, T]`` on the right to whole frames."""
        return nn.functional.pad(wav, (0, -wav.shape[-1] % self.hop))

    def forward(self, wav: torch.Tensor, active: torch.Tensor | None = None,
                quantize: bool = True) -> tuple[torch.Tensor, QuantizerOutput | None]:
        """Training pass: waveform ``[B, 1, T]`` -> (reconstruction, quantizer output).

        The reconstruction is aligned with the input and ``T - delay`` samples long (the last
        ``delay`` samples need a frame that is not there). ``quantize=False`` skips the quantizer
        (an autoencoder warm-up) and returns ``None`` for its output.
        """
        z = self.encoder(self.pad(wav))
        q = self.quantizer(z, active) if quantize else None
        y = self.decoder(q.quantized if quantize else z)
        return y[..., self.delay: wav.shape[-1]], q

    @torch.no_grad()
    def encode(self, wav: torch.Tensor, num_codebooks: int | None = None) -> torch.Tensor:
        """Waveform ``[T]``, ``[1, T]`` or ``[B, 1, T]`` -> codes ``[B, K, ceil(T / hop)]``."""
        wav = wav[None, None] if wav.dim() == 1 else wav[:, None] if wav.dim() == 2 else wav
        k = self.config.num_codebooks if num_codebooks is None else num_codebooks
        if wav.shape[-1] == 0:
            return torch.zeros(wav.shape[0], k, 0, dtype=torch.long)
        levels, beam = self.config.search_for(k) if k else (0, 1)
        return self.quantizer.encode(self.latent(wav), levels, beam)[:, :k]

    @torch.no_grad()
    def latent(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, 1, T]`` -> the encoder's latents ``[B, dim, ceil(T / hop)]``,
        unquantized."""
        return self.encoder(self.pad(wav))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Codes ``[B, K, F]`` (or ``[K, F]``) -> waveform ``[B, 1, F * hop]`` aligned with the
        input (the synthesis delay removed; the last ``delay`` samples completed by the last
        frame's codes decoded once more), times the config's output gain for ``K`` (``forward``,
        the training pass, leaves it out); whole frames unless ``length`` trims it."""
        codes = codes.unsqueeze(0) if codes.dim() == 2 else codes
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0)
        y = self.decode_latent(self.quantizer.decode(codes.long()))
        y = y * self.config.output_gains()[codes.shape[1]]
        return y if length is None else y[..., :length]

    @torch.no_grad()
    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``[B, dim, F]`` (quantized or not) -> waveform ``[B, 1, F * hop]`` aligned
        with the input: the synthesis delay removed, the last ``delay`` samples completed by
        the last frame decoded once more. No output gain."""
        if not self.delay:
            return self.decoder(z)
        frames = z.shape[-1]
        return self.decoder(torch.cat([z, z[..., -1:]], -1))[
            ..., self.delay: self.delay + frames * self.hop]


def build_codec(config: CodecConfig | None = None) -> Codec:
    """The factory: the modules of ``config`` (default: the shipped model's architecture)."""
    c = config or shipped_architecture()
    return Codec(c, build_encoder(c),
                 ResidualVQ(c.dim, c.num_codebooks, c.codebook_size, c.code_dim, c.depth_bias),
                 build_decoder(c))


def save_model(model: Codec, directory: Path, extra: dict | None = None,
               graphs: bool = False) -> bytes:
    """Write ``codec.pt`` + ``config.json`` into ``directory``; return the model id.

    ``graphs``: also export the per-frame ONNX graphs (``export.py``) beside the weights,
    their SHA-256 recorded in ``config.json``, so the runtime need not export them.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
             if not k.endswith(_TRAINING_ONLY)}
    buf = io.BytesIO()
    torch.save(state, buf)
    weights = buf.getvalue()
    (directory / WEIGHTS_FILE).write_bytes(weights)
    meta = {"format_version": WEIGHTS_VERSION, "config": asdict(model.config),
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
            "model_id": model_id_for(weights, model.config).hex(), **(extra or {})}
    if graphs:
        from .export import save_graphs
        meta.update(save_graphs(model, directory))
    (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return bytes.fromhex(meta["model_id"])


def load_model(directory: str | Path | None = None) -> Codec:
    """Load a saved model (default: the weights shipped in the package), in eval mode.

    Raises ``FormatError`` when the config is unreadable, was written for another format
    version, or does not match the weights (corrupted or foreign file).
    """
    directory = Path(directory) if directory is not None else WEIGHTS_DIR
    meta = read_meta(directory)
    try:
        weights = (directory / WEIGHTS_FILE).read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read model in {directory}: {e}") from None
    if hashlib.sha256(weights).hexdigest() != meta.get("weights_sha256"):
        raise FormatError(f"weights in {directory} are corrupted (SHA-256 mismatch)")
    config = CodecConfig.from_dict(meta.get("config", {}))
    model = build_codec(config)
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
    except Exception as e:  # noqa: BLE001 - any unpickling/shape error means a bad file
        raise FormatError(f"weights in {directory} do not fit the config: {e}") from None
    missing = [k for k in missing if not k.endswith(_TRAINING_ONLY)]
    if missing or unexpected:
        raise FormatError(f"weights in {directory} do not fit the config "
                          f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for level in model.quantizer.levels:  # rebuild the EMA statistics for fine-tuning
        level.ema_sum.copy_(level.codebook)
        level.ema_count.fill_(1.0)
    # as saved, by the rule of its format version: new fields and new rules keep old ids
    model.model_id = model_id_for(weights, meta["config"], meta["format_version"])
    if meta.get("graphs"):  # the runtime's graphs saved with these weights (onnx_runtime.py)
        from .weights_cache import fingerprint
        model.saved_graphs = (directory, fingerprint(model))
    return model.eval()


def load_model_for_id(model_id: bytes, search: list[Path] | None = None) -> Codec:
    """Load the model with this id from the search path (see ``model_dir_for_id``)."""
    folder = model_dir_for_id(model_id, search)
    model = load_model(folder)
    if model.model_id != bytes(model_id):
        raise FormatError(f"model in {folder} has id {model.model_id.hex()}, its config.json "
                          f"says {bytes(model_id).hex()}")
    return model
