"""Live streaming over UDP: packets (see docs/PROTOCOL.md), sender, receiver, jitter buffer."""

DEFAULT_PORT = 5004   # the receiver's UDP port unless told otherwise
IDLE_TIMEOUT = 3.0    # seconds after the last valid packet before a receiver ends the stream
