"""Live streaming over UDP: packets (see docs/PROTOCOL.md), sender, receiver, jitter buffer."""

DEFAULT_PORT = 5004   # the receiver's UDP port unless told otherwise
IDLE_TIMEOUT = 3.0    # seconds after the last valid packet before a receiver ends the stream


def format_address(address) -> str:
    """``host:port`` (``[v6addr]:port`` for IPv6), as ``--to`` and ``--listen`` take it."""
    host, port = address[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
