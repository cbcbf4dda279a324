"""The codec model: ``Codec(encoder, quantizer, decoder)``, its config, and its weights on disk.

A model is built from components passed in; ``build_codec(config)`` is the factory that holds the
hyper-parameters. Weights are saved as a plain tensor dict (loaded with ``weights_only=True``) next
to ``config.json``, which records the format version and the SHA-256 of the weights. The model id
written into every file and packet is derived from both, so a decoder can refuse codes produced by
any other model.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .errors import FormatError
from .nn.registry import build_decoder, build_encoder
from .quantize import QuantizerOutput, ResidualVQ
from .version import WEIGHTS_VERSION

WEIGHTS_DIR = Path(__file__).parent / "weights"
# Where models are looked up by id: the shipped one, then one folder per earlier shipped model
# (``weights/previous/<model id>/``), so files they wrote keep decoding. Tests replace the list.
MODEL_SEARCH_PATH: list[Path] = [WEIGHTS_DIR, WEIGHTS_DIR / "previous"]
WEIGHTS_FILE = "codec.pt"
CONFIG_FILE = "config.json"
# Buffers that only training needs; left out of the shipped weights to keep them small.
_TRAINING_ONLY = ("ema_count", "ema_sum", "idle")


@dataclass(frozen=True)
class CodecConfig:
    sample_rate: int = 16000
    encoder: str = "seanet"               # kinds, from ``nn/registry.py``
    decoder: str = "seanet"
    hop_size: int = 0                     # samples per frame; 0: prod(ratios) (SEANet)
    # spectral kind (``nn/spectral.py``)
    transform: str = "stft"               # "stft" (complex bins) or "mdct" (real coefficients)
    width: int = 256                      # channels of the ConvNeXt blocks
    encoder_blocks: int = 4
    decoder_blocks: int = 6
    expansion: int = 2                    # MLP width / block width
    kernel: int = 5                       # depthwise kernel, in frames
    # SEANet kind (``nn/seanet.py``)
    channels: int = 48                    # first stage; doubles at each later stage
    ratios: tuple[int, ...] = (8, 5, 8)   # product = samples per frame
    dim: int = 64                         # latent and codebook vector size
    dilations: tuple[int, ...] = (1, 3)
    num_codebooks: int = 18
    codebook_size: int = 1024
    bitrates: tuple[float, ...] = (1.5, 3.0, 6.0, 9.0)  # kbps trained by quantizer dropout
    code_dim: int = 16                    # codebook vector size; 0: dim (see quantize.py)
    kernel_factors: tuple[int, ...] = (2, 1)  # kernel / stride of each stage after the first

    @classmethod
    def from_dict(cls, d: dict) -> "CodecConfig":
        known = {f: d[f] for f in cls.__dataclass_fields__ if f in d}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in known.items()})

    @property
    def hop(self) -> int:
        return self.hop_size or math.prod(self.ratios)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def codebook_bits(self) -> int:
        return int(math.log2(self.codebook_size))

    def kbps_per_codebook(self) -> float:
        return self.frame_rate * self.codebook_bits / 1000

    def codebooks_for(self, kbps: float) -> int:
        """Number of codebooks for a bitrate in kbps; it must be a whole number of codebooks."""
        k = kbps / self.kbps_per_codebook()
        if not (abs(k - round(k)) < 1e-6 and 1 <= round(k) <= self.num_codebooks):
            rates = ", ".join(f"{b:g}" for b in self.bitrates)
            step = self.kbps_per_codebook()
            raise ValueError(f"unsupported bitrate {kbps:g} kbps: use {rates} (or any multiple "
                             f"of {step:g} up to {step * self.num_codebooks:g})")
        return round(k)


class Codec(nn.Module):
    """Encoder -> residual VQ -> decoder, on 16 kHz mono float waveforms."""

    def __init__(self, config: CodecConfig, encoder: nn.Module, quantizer: ResidualVQ,
                 decoder: nn.Module):
        super().__init__()
        self.config = config
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.model_id = bytes(8)  # set by ``load_model``; all zeros for an unsaved model

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def delay(self) -> int:
        """Samples by which the decoder's output lags the input (its synthesis delay)."""
        return getattr(self.decoder, "delay", 0)

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
        return self.quantizer.encode(self.encoder(self.pad(wav)), k)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Codes ``[B, K, F]`` (or ``[K, F]``) -> waveform ``[B, 1, F * hop]`` aligned with the
        input (the synthesis delay removed; the last ``delay`` samples completed by the last
        frame's codes decoded once more); whole frames unless ``length`` trims it."""
        codes = codes.unsqueeze(0) if codes.dim() == 2 else codes
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0)
        z = self.quantizer.decode(codes.long())
        if self.delay:  # one more frame of the last codes completes the last ``delay`` samples
            z = torch.cat([z, z[..., -1:]], -1)
            y = self.decoder(z)[..., self.delay: self.delay + codes.shape[-1] * self.hop]
        else:
            y = self.decoder(z)
        return y if length is None else y[..., :length]


def build_codec(config: CodecConfig | None = None) -> Codec:
    """The factory: the shipped architecture for ``config`` (defaults: the shipped config)."""
    c = config or CodecConfig()
    return Codec(c, build_encoder(c),
                 ResidualVQ(c.dim, c.num_codebooks, c.codebook_size, c.code_dim),
                 build_decoder(c))


def model_id_for(weights: bytes, config: CodecConfig | dict) -> bytes:
    """8 bytes of SHA-256 over the canonical config (as saved) and the weights file."""
    saved = asdict(config) if isinstance(config, CodecConfig) else config
    canon = json.dumps(saved, sort_keys=True).encode()
    return hashlib.sha256(canon + b"\0" + weights).digest()[:8]


def save_model(model: Codec, directory: Path, extra: dict | None = None,
               graphs: bool = False) -> bytes:
    """Write ``codec.pt`` + ``config.json`` into ``directory``; return the model id.

    ``graphs``: also export the per-frame ONNX graphs (``nn/export.py``) beside the weights,
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
        from .nn.export import save_graphs
        meta["graphs"] = save_graphs(model, directory)
    (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return bytes.fromhex(meta["model_id"])


def load_model(directory: str | Path | None = None) -> Codec:
    """Load a saved model (default: the weights shipped in the package), in eval mode.

    Raises ``FormatError`` when the config is unreadable, was written for another format
    version, or does not match the weights (corrupted or foreign file).
    """
    directory = Path(directory) if directory is not None else WEIGHTS_DIR
    try:
        meta = json.loads((directory / CONFIG_FILE).read_text())
        weights = (directory / WEIGHTS_FILE).read_bytes()
    except (OSError, ValueError) as e:
        raise FormatError(f"cannot read model in {directory}: {e}") from None
    if meta.get("format_version") != WEIGHTS_VERSION:
        raise FormatError(f"model in {directory} has format version "
                          f"{meta.get('format_version')}, this code reads {WEIGHTS_VERSION}")
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
    model.model_id = model_id_for(weights, meta["config"])  # as saved: new fields keep old ids
    if meta.get("graphs"):  # per-frame graphs saved with these weights (nn/onnx_runtime.py)
        from .nn.weights_cache import fingerprint
        model.saved_graphs = (directory, meta["graphs"], fingerprint(model))
    return model.eval()


def _saved_models(search: list[Path] | None = None):
    """``(folder, model id)`` of every model on the search path: each entry is a model folder
    (holding ``config.json``) or a folder of model folders."""
    for entry in MODEL_SEARCH_PATH if search is None else search:
        entry = Path(entry)
        folders = [entry] if (entry / CONFIG_FILE).is_file() else \
            sorted(p for p in entry.glob("*") if (p / CONFIG_FILE).is_file())
        for folder in folders:
            try:
                yield folder, bytes.fromhex(json.loads((folder / CONFIG_FILE).read_text())["model_id"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not a saved model: skipped


def model_dir_for_id(model_id: bytes, search: list[Path] | None = None) -> Path:
    """The folder of the model with this id (the shipped one, or an earlier one kept in
    ``weights/previous/``); ``FormatError`` naming the id when the package does not hold it."""
    known = []
    for folder, found in _saved_models(search):
        if found == bytes(model_id):
            return folder
        known.append(found.hex())
    raise FormatError(f"encoded by model {bytes(model_id).hex()}, which this codec does not hold "
                      f"(it has {', '.join(known) or 'none'}); decode it with the codec release "
                      f"that shipped that model")


def config_for_id(model_id: bytes, search: list[Path] | None = None) -> CodecConfig:
    """The config (frame geometry, code width) of the model with this id, without its weights."""
    folder = model_dir_for_id(model_id, search)
    return CodecConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text())["config"])


def load_model_for_id(model_id: bytes, search: list[Path] | None = None) -> Codec:
    """Load the model with this id from the search path (see ``model_dir_for_id``)."""
    folder = model_dir_for_id(model_id, search)
    model = load_model(folder)
    if model.model_id != bytes(model_id):
        raise FormatError(f"model in {folder} has id {model.model_id.hex()}, its config.json "
                          f"says {bytes(model_id).hex()}")
    return model
