"""Versions, one per thing that is versioned; each reader refuses any value it does not read.

* ``FILE_VERSION``: the ``.cdc`` layout (``formats/bitstream.py``), the byte after the magic.
* ``PACKET_VERSION``: the packet layout (``formats/packet.py``), the high nibble of byte 1.
* ``WEIGHTS_VERSION``: the weights folder's layout (``config.json``'s ``format_version``) that
  models are saved with; ``WEIGHTS_VERSIONS``: those read (a model keeps the version it was
  saved with, and with it the rule of its id).

The model itself is named by its model id (a hash of config and weights), carried by every file
and packet; a new model changes the id and none of these numbers. Bump one only when its own
layout changes so that old readers or old data no longer fit.
"""

__version__ = "0.1.0"
FILE_VERSION = 2     # 1 and 2 have the same layout (2 came with the weights change below)
PACKET_VERSION = 2   # likewise
WEIGHTS_VERSION = 3  # 3: the model id hashes only the model's own kinds' fields
                     # (CodecConfig.identity); 2: config gained code_dim and kernel_factors
WEIGHTS_VERSIONS = (2, 3)  # 2: the shipped and earlier models, ids over the whole config
