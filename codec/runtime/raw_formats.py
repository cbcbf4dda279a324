"""The headerless PCM layouts ``--raw`` reads (``audio.RawPCM``): name -> libsndfile subtype and
endianness. A module of its own, without numpy or soundfile, because the command line's parser
lists these names and must build fast (``codec --version``, ``codec --help``)."""

RAW_FORMATS = {"s16le": ("PCM_16", "LITTLE"), "s16be": ("PCM_16", "BIG"),
               "s24le": ("PCM_24", "LITTLE"), "s32le": ("PCM_32", "LITTLE"),
               "f32le": ("FLOAT", "LITTLE"), "f64le": ("DOUBLE", "LITTLE"),
               "s8": ("PCM_S8", "FILE"), "u8": ("PCM_U8", "FILE")}
