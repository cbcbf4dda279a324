"""One version number ties the code, the shipped weights and the wire formats together.

``FORMAT_VERSION`` is written into every bitstream file, every packet and the weights' config;
a reader refuses any other value. Bump it whenever a change makes old files, packets or weights
unreadable by the new code (or new ones by the old code).
"""

__version__ = "0.1.0"
FORMAT_VERSION = 2
# History: 1, the first model (full 64-dim codebooks); 2, low-dimensional codebooks and
# kernel_factors in the weights' config. The file and packet layouts have not changed.
