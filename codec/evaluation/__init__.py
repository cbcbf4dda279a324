"""Evaluation tools: objective quality metrics (:mod:`.metrics`) and peer codecs to compare
against (:mod:`.peers`: Opus, Lyra v2, Codec 2). Used by ``scripts/evaluate.py`` and
``scripts/benchmark.py``; the optional packages (pesq, pystoi, ai-edge-litert) and command-line
tools (opusenc/opusdec, c2enc/c2dec) are only needed by what uses them."""
