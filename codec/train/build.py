"""The model a run starts from, and how a module runs on the run's devices (DDP, autocast)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import distributed as dist
from torch import nn

from ..model import Codec, CodecConfig, build_codec, load_model
from .transplant import transplant


def initial_model(config: CodecConfig | None, init_from: Path | None) -> Codec:
    """A new model, the saved one, or (another config) the saved one's weights where they fit
    a new model (``transplant``)."""
    if init_from is None:
        return build_codec(config)
    saved = load_model(init_from)
    if saved.config.output_gain_db:  # a calibration belongs to the weights it measured
        saved.config = replace(saved.config, output_gain_db=())
        saved.saved_graphs = None  # they hold the gain (model/export.py)
    config = config and replace(config, output_gain_db=())
    if config is None or config == saved.config:
        return saved
    model = build_codec(config)
    skipped = transplant(saved, model)
    print(f"init from {init_from}: config changed, {len(skipped)} tensors start fresh")
    return model


def distributed(module: nn.Module, device: torch.device) -> nn.Module:
    """``module`` under DDP when there are several processes (``torchrun``), else itself."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), from Linux's
    ``/proc/cpuinfo``; ``None`` where that file cannot be read."""
    try:
        flags = Path(cpuinfo).read_text().split()
    except OSError:
        return None
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast(device: torch.device, cpu_bf16: bool = False):
    """bfloat16 on a GPU, and on the CPU with ``cpu_bf16``; else full precision."""
    return torch.autocast(device.type, torch.bfloat16,
                          enabled=device.type == "cuda" or cpu_bf16)
