"""Versions, one per thing that is versioned; each reader refuses any other value of its own.

* ``FILE_VERSION``: the ``.cdc`` layout (``formats/bitstream.py``), the byte after the magic.
* ``PACKET_VERSION``: the packet layout (``formats/packet.py``), the high nibble of byte 1.
* ``WEIGHTS_VERSION``: the weights folder's layout (``config.json``'s ``format_version``).

The model itself is named by its model id (a hash of config and weights), carried by every file
and packet; a new model changes the id and none of these numbers. Bump one only when its own
layout changes so that old readers or old data no longer fit.
"""

__version__ = "0.1.0"
FILE_VERSION = 2     # 1 and 2 have the same layout (2 came with the weights change below)
PACKET_VERSION = 2   # likewise
WEIGHTS_VERSION = 2  # 2: config gained code_dim and kernel_factors (low-dimensional codebooks)
