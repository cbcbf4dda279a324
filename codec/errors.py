"""The one error type raised for every malformed file, packet or weights file."""


class FormatError(ValueError):
    """Data that is not a valid bitstream, packet or weights file for this codec.

    Raised for a wrong magic, an unknown format version, another model's id, truncated or
    oversized data, inconsistent header fields and CRC mismatches. Being a ``ValueError``,
    it can be caught as one.
    """


class AudioInputError(ValueError):
    """Input audio that cannot be encoded: unreadable, not audio, or holding NaN/infinity."""
