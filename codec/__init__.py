"""A learned speech codec: 16 kHz speech in 20 ms frames at 1.5 to 9 kbps.

    import codec
    data = codec.compress(wav, sample_rate, bitrate=6)   # bytes
    wav16k, rate = codec.decompress(data)                # float32, 16000

Live streams: ``StreamEncoder(load_model(), bitrate=6).encode(frame) -> payload`` and
``StreamDecoder(load_model()).decode(payload or None) -> frame``.
"""

from .api import compress, decode_file, decompress, encode_file, load_model
from .errors import ArgumentError, AudioInputError, FormatError
from .model import Codec, CodecConfig, build_codec
from .streaming import StreamDecoder, StreamEncoder
from .version import FORMAT_VERSION, __version__

__all__ = ["ArgumentError", "AudioInputError", "Codec", "CodecConfig", "FORMAT_VERSION", "FormatError",
           "StreamDecoder", "StreamEncoder", "__version__", "build_codec", "compress",
           "decode_file", "decompress", "encode_file", "load_model"]
