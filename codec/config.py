"""``CodecConfig``: every hyper-parameter of a model, saved as ``config.json`` beside its weights.

Plain data, no torch: the runtime reads it to know the frame geometry, the bitrates and the code
width; ``model.build_codec`` turns it into modules. The frame size and rate are derived here
(``hop``, ``frame_rate``) and nowhere else.

Each kind of encoder and decoder (``model/nn/registry.py``) has its own small config,
``SEANetConfig`` or ``SpectralConfig``, whose fields ``CodecConfig`` holds flat, as
``config.json`` saves them; ``CodecConfig.encoder`` / ``decoder`` name the kinds, and
``kind_config(role)`` gives the config of one, which is all its registry entry reads besides the
shared geometry. A model's id (``runtime/store.model_id_for``) hashes only the shared fields and
those of its own kinds (``identity``); the ids of models saved before (weights format 2) hash
the whole config as saved, and stay as they are.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, fields

from .errors import format_bitrates as _listed  # ``1.5, 3, 6 or 9``


@dataclass(frozen=True)
class SEANetConfig:
    """The SEANet kind (``model/nn/seanet.py``): a waveform encoder of strided convolutions and
    its mirrored decoder."""

    channels: int = 48                    # first stage; doubles at each later stage
    ratios: tuple[int, ...] = (8, 5, 8)   # the strides; their product is the hop (hop_size 0)
    dilations: tuple[int, ...] = (1, 3)
    kernel_factors: tuple[int, ...] = (2, 1)  # kernel / stride of each stage after the first


@dataclass(frozen=True)
class SpectralConfig:
    """The spectral kinds (``model/nn/spectral.py``; the decoders ``spectral-envelope`` and
    ``spectral-pitch``, ``spectral_envelope.py`` and ``spectral_pitch.py``, are the same with
    another head): ConvNeXt blocks at the frame rate over a transform of each frame."""

    transform: str = "stft"               # "stft" (complex bins) or "mdct" (real coefficients)
    width: int = 256                      # channels of the ConvNeXt blocks
    encoder_blocks: int = 4
    decoder_blocks: int = 6
    expansion: int = 2                    # MLP width / block width
    kernel: int = 5                       # depthwise kernel, in frames
    int8: bool = False                    # 8-bit weights and inputs (model/nn/int8.py)
    long_window: int = 0                  # encoder: a longer analysis frame (samples; 0: none)
    long_window_hz: int = 1000            # its bins up to this frequency
    synthesis_window: int = 0             # decoder: samples per synthesis frame (0: hop)
    synthesis_step: int = 0               # decoder: samples between them (0: half the window);
                                          # the output is window - step samples late


# The config of each kind, by the name ``CodecConfig.encoder`` / ``decoder`` gives it (the
# registry, ``model/nn/registry.py``, has the modules; tests/test_config.py holds the two
# tables to the same kinds).
KIND_CONFIGS: dict[str, type[SEANetConfig] | type[SpectralConfig]] = {
    "seanet": SEANetConfig, "spectral": SpectralConfig, "spectral-envelope": SpectralConfig,
    "spectral-pitch": SpectralConfig}


@dataclass(frozen=True)
class CodecConfig(SEANetConfig, SpectralConfig):
    """Every hyper-parameter of a model, flat as ``config.json`` saves it: the fields below,
    shared by every kind, and each kind's (inherited from ``SEANetConfig`` and
    ``SpectralConfig``), of which a model uses those of its encoder's and decoder's kinds."""

    sample_rate: int = 16000
    encoder: str = "seanet"               # kinds, from ``model/nn/registry.py``
    decoder: str = "seanet"
    hop_size: int = 0                     # samples per frame; 0: prod(ratios) (SEANet)
    dim: int = 64                         # latent and codebook vector size
    num_codebooks: int = 18
    codebook_size: int = 1024
    bitrates: tuple[float, ...] = (1.5, 3.0, 6.0, 9.0)  # kbps trained by quantizer dropout
    code_dim: int = 16                    # codebook vector size; 0: dim (model/quantize.py)
    depth_bias: bool = False              # a learnt latent offset per number of codebooks
                                          # received, so the decoder knows the bitrate
    # beam width of the encoder's code search at each of ``bitrates`` (model/quantize.py
    # ``search``; empty, or a bitrate not listed: 1, greedy). The decoder and the bitstream do
    # not change.
    search_beams: tuple[int, ...] = ()
    # make-up gain of the decoder's output at each of ``bitrates`` (dB; empty: none): a quantized
    # latent decodes a little quiet, more so at low bitrates. Measured on held-out speakers for
    # one set of weights by ``scripts/calibrate_level.py``; training from a model drops it.
    output_gain_db: tuple[float, ...] = ()

    def __post_init__(self):
        if len(self.search_beams) > len(self.bitrates) or any(b < 1 for b in self.search_beams):
            raise ValueError(f"search_beams {self.search_beams}: at most one width (>= 1) per "
                             f"bitrate of {self.bitrates}")
        if self.output_gain_db and len(self.output_gain_db) != len(self.bitrates):
            raise ValueError(f"output_gain_db {self.output_gain_db}: one gain per bitrate of "
                             f"{self.bitrates}, or none")
        self._drop_bitrates_not_carried()

    def _drop_bitrates_not_carried(self) -> None:
        """Leave out (with a warning) the listed bitrates that are not a whole number of
        codebooks of this geometry, with their beam and gain; when none is left, the bitrate of
        all the codebooks is the model's one."""
        kept = [i for i, b in enumerate(self.bitrates) if self.carries(b)]
        if len(kept) == len(self.bitrates):
            return
        step = self.kbps_per_codebook()
        dropped = [b for b in self.bitrates if not self.carries(b)]
        bitrates = tuple(self.bitrates[i] for i in kept) or (round(step * self.num_codebooks, 6),)
        warnings.warn(f"bitrate {_listed(dropped)} kbps left out: not a whole number of codebooks "
                      f"({step:g} kbps each, at most {self.num_codebooks}); this model takes "
                      f"{_listed(bitrates)} kbps", stacklevel=4)
        for name in ("search_beams", "output_gain_db"):
            values = getattr(self, name)
            object.__setattr__(self, name, tuple(values[i] for i in kept if i < len(values)))
        object.__setattr__(self, "bitrates", bitrates)

    @classmethod
    def parse_fields(cls, items: list[str]) -> dict:
        """``["FIELD=VALUE", ...]`` (command lines) -> field values: ``true`` / ``false`` for
        flags, comma-separated numbers for tuples; ``ValueError`` names a bad item."""
        changes = {}
        for item in items:
            key, _, value = item.partition("=")
            if key not in cls.__dataclass_fields__ or not value:
                raise ValueError(f"{item!r} is not FIELD=VALUE of a CodecConfig field")
            field = cls.__dataclass_fields__[key]
            default = field.default
            if isinstance(default, bool):
                if value.lower() not in ("true", "false"):
                    raise ValueError(f"{key} is true or false, got {value!r}")
                changes[key] = value.lower() == "true"
            elif isinstance(default, tuple):
                kind = float if "float" in str(field.type) else int  # the annotation
                changes[key] = tuple(kind(v) for v in value.split(","))
            else:
                changes[key] = type(default)(value)
        return changes

    @classmethod
    def split_fields(cls, text: str) -> list[str]:
        """``"a=1,b=2,3,c=x"`` -> ``["a=1", "b=2,3", "c=x"]``: a piece without ``=`` continues
        the previous field's tuple."""
        items: list[str] = []
        for piece in text.split(","):
            if "=" in piece or not items:
                items.append(piece)
            else:
                items[-1] += "," + piece
        return items

    @classmethod
    def from_dict(cls, d: dict) -> "CodecConfig":
        known = {f: d[f] for f in cls.__dataclass_fields__ if f in d}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in known.items()})

    @staticmethod
    def kind_fields(kind: str) -> tuple[str, ...]:
        """The fields of a kind's config (``ValueError`` naming the kinds for an unknown one)."""
        if kind not in KIND_CONFIGS:
            raise ValueError(f"unknown kind {kind!r}: the kinds are {', '.join(KIND_CONFIGS)}")
        return tuple(f.name for f in fields(KIND_CONFIGS[kind]))

    def kind_config(self, role: str) -> SEANetConfig | SpectralConfig:
        """The config of the kind of ``role`` (``"encoder"`` or ``"decoder"``): a
        ``SEANetConfig`` or a ``SpectralConfig`` of this config's values."""
        if role not in ("encoder", "decoder"):
            raise ValueError(f"role must be 'encoder' or 'decoder', got {role!r}")
        kind = getattr(self, role)
        values = {f: getattr(self, f) for f in self.kind_fields(kind)}
        return KIND_CONFIGS[kind](**values)

    @classmethod
    def identity(cls, saved: dict) -> dict:
        """What a model's id hashes of its saved config (weights format 3 on): the shared fields
        and those of its encoder's and decoder's kinds, as saved (a field added since, absent
        from the file, changes no id), with the frame size as ``hop`` (``hop_size`` or the
        ratios' product). Another kind's fields, which the model never reads, are left out."""
        config = cls.from_dict(saved)
        kinds = {f.name for kind in KIND_CONFIGS.values() for f in fields(kind)}
        used = ({f.name for f in fields(cls)} - kinds - {"hop_size"}
                | set(cls.kind_fields(config.encoder)) | set(cls.kind_fields(config.decoder)))
        return {"hop": config.hop, **{k: v for k, v in saved.items() if k in used}}

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

    def encoder_sizes(self) -> tuple[int, ...]:
        """The ``K`` of each encoder graph: every bitrate's, and all levels."""
        return tuple(sorted({self.codebooks_for(b) for b in self.bitrates} | {self.num_codebooks}))

    def _check_codebooks(self, num_codebooks: int) -> None:
        if not 1 <= num_codebooks <= self.num_codebooks:
            raise ValueError(f"num_codebooks must be in 1..{self.num_codebooks}")

    def encoder_size_for(self, num_codebooks: int) -> int:
        """The encoder graph that serves ``num_codebooks`` codes: the smallest that has them."""
        self._check_codebooks(num_codebooks)
        return min(k for k in self.encoder_sizes() if k >= num_codebooks)

    def search_for(self, num_codebooks: int) -> tuple[int, int]:
        """(levels searched, beam width) of the code search that serves ``num_codebooks``
        codes: that of their encoder graph, whose first rows are sent. Without beams this is a
        greedy search of only those levels (the same first rows)."""
        if not self.search_beams:
            self._check_codebooks(num_codebooks)
            return num_codebooks, 1
        size = self.encoder_size_for(num_codebooks)
        beams = {self.codebooks_for(b): w for b, w in zip(self.bitrates, self.search_beams)}
        return size, beams.get(size, 1)

    def output_gain(self, num_codebooks: int) -> float:
        """The decoder's output gain (linear) for ``num_codebooks`` codes: that of the highest
        bitrate they reach (the lowest bitrate's below it); 1.0 without a calibration."""
        self._check_codebooks(num_codebooks)
        if not self.output_gain_db:
            return 1.0
        reached = [g for b, g in zip(self.bitrates, self.output_gain_db)
                   if self.codebooks_for(b) <= num_codebooks]
        return 10 ** ((reached[-1] if reached else self.output_gain_db[0]) / 20)

    def output_gains(self) -> tuple[float, ...]:
        """``output_gain(K)`` for every ``K`` from 0 to ``num_codebooks`` (1.0 for 0: no codes,
        nothing to make up): the decoder's output is multiplied by entry ``K``, by the torch
        ``Codec``, the eager engine and the exported decoder graph alike."""
        return (1.0, *(self.output_gain(k) for k in range(1, self.num_codebooks + 1)))

    def carries(self, kbps: float) -> bool:
        """Whether ``kbps`` is a whole number of codebooks (1 to ``num_codebooks``) a frame."""
        k = kbps / self.kbps_per_codebook()
        return abs(k - round(k)) < 1e-6 and 1 <= round(k) <= self.num_codebooks

    def codebooks_for(self, kbps: float) -> int:
        """The number of codebooks of one of ``bitrates`` (those this geometry carries): the one
        rule for the bitrates a model takes (``errors.check_bitrate`` asks it). ``ValueError``
        naming them for any other value."""
        ok = (isinstance(kbps, numbers.Real) and not isinstance(kbps, bool)
              and math.isfinite(float(kbps)) and float(kbps) in map(float, self.bitrates))
        if not ok:
            shown = f"{float(kbps):g}" if isinstance(kbps, numbers.Real) else repr(kbps)
            raise ValueError(f"unsupported bitrate {shown} kbps: this model takes "
                             f"{_listed(self.bitrates)} kbps")
        return round(kbps / self.kbps_per_codebook())
