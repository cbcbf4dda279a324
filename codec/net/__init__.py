"""Live-streaming network formats: the UDP packet layout (see docs/PROTOCOL.md)."""
