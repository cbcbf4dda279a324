"""The formats, pure Python + numpy: the bottom layer, imported by the runtime, the network
code and the model alike, and importing none of them (only ``codec.errors`` and
``codec.version``).

``bitstream.py`` (the ``.cdc`` file), ``bitpack.py`` (bit packing of codes), ``payload.py`` (one
frame's codes <-> bytes) and ``packet.py`` (network packets). See docs/FORMAT.md and
docs/PROTOCOL.md.
"""
