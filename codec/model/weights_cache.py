"""Per-model caches of things derived from weights (compiled runners, inference sessions).

A derived object is built once per module, variant and weights, and rebuilt when the module's
tensors are replaced or modified in place (training, ``load_state_dict``), so a stale copy of old
weights is never used. Entries go away with their module.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Hashable

from torch import nn

_cache: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


def fingerprint(module: nn.Module) -> tuple:
    """Changes whenever the module's tensors are replaced or modified in place. Tensors made
    under ``torch.inference_mode`` (a model loaded there) keep no version counter; they count by
    address alone."""
    return tuple((t.data_ptr(), -1 if t.is_inference() else t._version)
                 for t in (*module.parameters(), *module.buffers()))


def cached(module: nn.Module, variant: Hashable, build: Callable[[], Any]) -> Any:
    """``build()``'s result for ``(module, variant)``, rebuilt when the module's weights change."""
    entries = _cache.setdefault(module, {})
    key = fingerprint(module)
    hit = entries.get(variant)
    if hit is None or hit[0] != key:
        hit = (key, build())
        entries[variant] = hit
    return hit[1]
