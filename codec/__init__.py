"""A learned speech codec: speech in 20 ms frames at 1.5 to 9 kbps (the shipped model).

    import codec
    data = codec.compress(wav, sample_rate, bitrate=6)   # bytes
    out, rate = codec.decompress(data)                   # float32, the model's rate

Live streams: ``StreamEncoder(load_model(), bitrate=6).encode(frame) -> payload`` and
``StreamDecoder(load_model()).decode(payload or None) -> frame``.
"""

from .api import compress, decode_file, decompress, encode_file, load_model
from .errors import ArgumentError, AudioInputError, FormatError
from .model import Codec, CodecConfig, build_codec, load_model_for_id
from .streaming import StreamDecoder, StreamEncoder
from .version import FILE_VERSION, PACKET_VERSION, WEIGHTS_VERSION, __version__

__all__ = ["ArgumentError", "AudioInputError", "Codec", "CodecConfig", "FILE_VERSION", "FormatError",
           "PACKET_VERSION", "StreamDecoder", "StreamEncoder", "WEIGHTS_VERSION", "__version__",
           "build_codec", "compress", "decode_file", "decompress", "encode_file", "load_model",
           "load_model_for_id"]
