"""Start a model of a new shape from a trained one: copy every weight that fits.

Used by ``--init-from`` when the new config differs from the saved model's (for example
``--code-dim`` or ``--kernel-factors``), so a reshaped model need not be trained from scratch.

* Tensors of the same name and shape are copied.
* A strided convolution whose kernel shrank keeps the taps nearest the current frame: the last
  ones of an encoder convolution (its causal window ends at the newest input), the first ones of
  a decoder transposed convolution (the part of its output that falls inside the frame).
* A layer with more inputs than before (the encoder's input layer, grown a ``long_window``)
  keeps its old columns and starts the new ones at zero: the model computes what it did (with
  ``int8``, up to the rounding of the block that old and new inputs share), and training
  teaches it to use the new inputs.
* A layer of the encoder or decoder with more outputs than before (a ConvNeXt block's hidden
  layer, grown a larger ``expansion``) keeps its old rows; the new ones keep their random
  initialisation. With the next layer's new inputs at zero (the rule above), the grown block
  computes exactly what it did, and training brings the new units in.
* A ConvNeXt block the old model did not have (``decoder_blocks`` or ``encoder_blocks`` grown)
  starts with its layer scale at zero, so it adds nothing to the residual stream: the deeper
  model computes exactly what it did, and training opens the new block.
* A quantizer level whose codebook changed shape starts untrained, so the first training batch
  initialises it (principal axes and k-means on that batch's residuals).
"""

from __future__ import annotations

import dataclasses

import torch

from ..model import Codec, CodecConfig, build_codec, load_model


def load_variant(spec: str) -> Codec:
    """A saved model folder, or ``DIR:field=value,...``: the folder's model with those config
    changes, its weights copied wherever they fit (``transplant``), in eval mode. For example
    ``checkpoints/spec23L13:decoder_blocks=5`` or ``codec/weights:search_beams=8,4``."""
    folder, _, changes = spec.partition(":")
    model = load_model(folder)
    if not changes:
        return model.eval()
    fields = CodecConfig.parse_fields(CodecConfig.split_fields(changes))
    variant = build_codec(dataclasses.replace(model.config, **fields))
    transplant(model, variant)
    return variant.eval()


def transplant(src: Codec, dst: Codec) -> list[str]:
    """Copy ``src``'s weights into ``dst`` where they fit; returns the names that got none of
    ``src``'s weights (left as built, or a new block's layer scale set to zero)."""
    source, target = src.state_dict(), dst.state_dict()
    skipped = []
    with torch.no_grad():
        for name, t in target.items():
            s = source.get(name)
            if s is not None and s.shape == t.shape:
                t.copy_(s)
            elif s is not None and s.dim() == 3 and s.shape[:2] == t.shape[:2] \
                    and s.shape[2] > t.shape[2]:
                k = t.shape[2]
                t.copy_(s[..., -k:] if name.startswith("encoder.") else s[..., :k])
            elif s is not None and s.dim() >= 2 and s.shape[0] == t.shape[0] \
                    and s.shape[2:] == t.shape[2:] and s.shape[1] < t.shape[1]:
                t.zero_()
                t[:, : s.shape[1]] = s
            elif s is not None and name.startswith(("encoder.", "decoder.")) \
                    and s.shape[1:] == t.shape[1:] and s.shape[0] < t.shape[0]:
                t[: s.shape[0]] = s
            elif s is None and name.endswith(".scale") and ".blocks." in name:
                t.zero_()  # a new residual block starts as the identity
                skipped.append(name)
            else:
                skipped.append(name)
        for i, level in enumerate(dst.quantizer.levels):
            if f"quantizer.levels.{i}.codebook" in skipped:
                level.initialised.fill_(False)
    return skipped
