"""The interfaces written down as ``typing.Protocol``s (issue 28.3), and the classes that claim
them: every registered kind's encoder and decoder (``codec/model/nn/registry.py``), the runtime
``Engine`` and a torch ``Codec`` (``codec/runtime/protocols.py``: ``RuntimeModel``,
``TorchModel``), and the per-stream backends of both (``EncoderBackend`` / ``DecoderBackend``:
ONNX Runtime's ``EngineEncoder`` / ``EngineDecoder`` and the eager reference's ``EagerEncoder``
/ ``EagerDecoder``). ``isinstance`` sees only that the members are there; the signatures are
checked by their parameter names."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest
from torch import nn

from codec.config import CodecConfig
from codec.model.eager import EagerDecoder, EagerEncoder
from codec.model.nn.registry import (DECODERS, ENCODERS, DecoderKind, EncoderKind, build_decoder,
                                     build_encoder)
from codec.runtime.engine import Engine, EngineDecoder, EngineEncoder, load_engine
from codec.runtime.protocols import (DecoderBackend, EncoderBackend, FrameCall, RuntimeModel,
                                     TorchModel)

from test_kinds import TINY_KINDS


def protocol_methods(protocol: type) -> dict[str, inspect.Signature]:
    """The methods a Protocol declares (its own and those of the Protocols it extends)."""
    found = {}
    for cls in reversed(protocol.__mro__):
        if cls is Protocol or not getattr(cls, "_is_protocol", False):
            continue
        for name, value in vars(cls).items():
            if callable(value) and not name.startswith("_"):
                found[name] = inspect.signature(value)
    return found


def signature_mismatches(cls: type, protocol: type) -> list[str]:
    """How ``cls``'s methods differ from ``protocol``'s: each must take the protocol's
    parameters in the same order, by the same names (any name for one the protocol makes
    positional-only); any more must have defaults."""
    wrong = []
    for name, wanted in protocol_methods(protocol).items():
        method = getattr(cls, name, None)
        if method is None:
            wrong.append(f"{cls.__name__}.{name} is missing")
            continue
        got = list(inspect.signature(method).parameters.values())
        want = list(wanted.parameters.values())
        named = [(g.name, w.name) for g, w in zip(got, want) if w.kind is not w.POSITIONAL_ONLY]
        if (len(got) < len(want) or any(g != w for g, w in named)
                or any(p.default is p.empty for p in got[len(want):])):
            wrong.append(f"{cls.__name__}.{name}{inspect.signature(method)} is not "
                         f"{protocol.__name__}.{name}{wanted}")
    return wrong


def test_the_signature_check_sees_a_renamed_or_missing_parameter():
    class Renamed:
        def prepare(self, live=True): ...
        def live(self, k): ...  # noqa: E704
        def samples(self, codes, extra): ...  # noqa: E704

    assert isinstance(Renamed(), DecoderBackend)  # what isinstance alone would let through
    assert len(signature_mismatches(Renamed, DecoderBackend)) == 2


@pytest.mark.parametrize("kind", sorted(TINY_KINDS))
def test_every_registered_kind_keeps_the_kind_protocols(kind):
    config = TINY_KINDS[kind]
    encoder, decoder = build_encoder(config), build_decoder(config)
    assert isinstance(encoder, EncoderKind) and isinstance(decoder, DecoderKind)
    for module, protocol in ((encoder, EncoderKind), (decoder, DecoderKind)):
        assert type(module).forward is not nn.Module.forward, "forward is not defined"
        assert signature_mismatches(type(module), protocol) == []
    assert isinstance(decoder.delay, int) and 0 <= decoder.delay < config.hop


def test_the_kinds_checked_are_all_the_registered_ones():
    assert {c.encoder for c in TINY_KINDS.values()} == set(ENCODERS)
    assert {c.decoder for c in TINY_KINDS.values()} == set(DECODERS)


def check_runtime_model(model) -> None:
    assert isinstance(model, RuntimeModel)
    assert isinstance(model.config, CodecConfig)
    assert isinstance(model.model_id, bytes) and len(model.model_id) == 8
    assert model.hop == model.config.hop and isinstance(model.delay, int)


def check_backends(encoder_cls: type, decoder_cls: type, built_from) -> None:
    assert signature_mismatches(encoder_cls, EncoderBackend) == []
    assert signature_mismatches(decoder_cls, DecoderBackend) == []
    encoder, decoder = encoder_cls(built_from), decoder_cls(built_from)
    assert isinstance(encoder, EncoderBackend) and isinstance(decoder, DecoderBackend)
    assert isinstance(encoder.live(3), FrameCall) and isinstance(decoder.live(3), FrameCall)


def test_the_engine_is_a_runtime_model_and_its_backends_keep_theirs():
    engine = load_engine()
    check_runtime_model(engine)
    assert not isinstance(engine, TorchModel)
    check_backends(EngineEncoder, EngineDecoder, engine)


def test_a_torch_codec_is_a_torch_model_and_the_eager_reference_keeps_the_backends(tiny_model):
    check_runtime_model(tiny_model)
    assert isinstance(tiny_model, TorchModel)
    assert signature_mismatches(type(tiny_model), TorchModel) == []
    assert isinstance(tiny_model.runtime_engine(), Engine)
    assert tiny_model.eager_streams() == (EagerEncoder, EagerDecoder)
    check_backends(EagerEncoder, EagerDecoder, tiny_model)
    check_backends(EngineEncoder, EngineDecoder, tiny_model.runtime_engine())
