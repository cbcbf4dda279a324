"""The ``codec`` command line: a thin layer over ``codec.api`` (and ``codec.net`` for streams).

Exit codes: 0 success, 1 error (one line on stderr, no output file left behind), 2 usage.
"""

from __future__ import annotations

import argparse
import sys

from . import bitstream
from .version import FORMAT_VERSION, __version__

LONG_INPUT_S = 30.0  # show a progress bar (on a terminal) for inputs longer than this


def _progress_bar(total: int, unit_rate: int, desc: str):
    """A tqdm bar counting seconds of audio, or None when stderr is not a terminal."""
    if not sys.stderr.isatty() or total < LONG_INPUT_S * unit_rate:
        return None
    from tqdm import tqdm
    bar = tqdm(total=round(total / unit_rate, 1), unit="s", desc=desc, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio")
    return bar, lambda n: bar.update(n / unit_rate)


def cmd_encode(args) -> None:
    from .api import encode_file
    holder = {}

    def on_open(f) -> None:
        notes = []
        if f.channels > 1:
            notes.append(f"downmixing {f.channels} channels to mono")
        if f.samplerate != 16000:
            notes.append(f"resampling {f.samplerate} Hz to 16000 Hz")
        if notes:
            print("note: " + ", ".join(notes), file=sys.stderr)
        holder["bar"] = _progress_bar(f.frames, f.samplerate, "encode")

    def progress(n: int) -> None:
        if holder.get("bar"):
            holder["bar"][1](n)

    try:
        encode_file(args.input, args.output, args.bitrate, args.force, on_open=on_open,
                    progress=progress)
    finally:
        if holder.get("bar"):
            holder["bar"][0].close()


def cmd_decode(args) -> None:
    from .api import decode_file
    decode_file(args.input, args.output, args.rate, args.force)


def cmd_info(args) -> None:
    from .api import read_input_bytes
    data = read_input_bytes(args.input)
    h = bitstream.read_header(data)
    bitstream.read_bitstream(data)  # full check: sizes and CRC
    kbps = bitstream.true_bitrate_kbps(h, len(data))
    print(f"format version   {FORMAT_VERSION}\n"
          f"model id         {h.model_id.hex()}\n"
          f"input rate       {h.sample_rate} Hz\n"
          f"input samples    {h.num_samples}\n"
          f"duration         {h.duration_s:.3f} s\n"
          f"codebooks        {h.num_codebooks} x {h.codebook_bits} bits\n"
          f"frames           {h.num_frames}\n"
          f"nominal bitrate  {h.nominal_kbps:g} kbps\n"
          f"true bitrate     {kbps:.3f} kbps (file size {len(data)} bytes, header included)")


def _rate(text: str) -> int | str:
    """``--rate``: a number of Hz or ``original`` (anything else is a usage error, exit 2)."""
    if text == "original":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("takes a number of Hz or 'original'") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codec", description="Learned speech codec, 16 kHz, "
                                "20 ms frames, 1.5 to 9 kbps.")
    p.add_argument("--version", action="version", version=f"codec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("encode", help="audio file -> bitstream file")
    e.add_argument("input", help="any file soundfile reads (wav, flac, ogg...), or - for stdin")
    e.add_argument("output", help="bitstream file (.cdc), or - for stdout")
    e.add_argument("--bitrate", type=float, default=6.0, help="kbps: 1.5, 3, 6 or 9 (default 6)")
    e.add_argument("--force", action="store_true", help="overwrite the output file")
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="bitstream file -> 16-bit WAV")
    d.add_argument("input", help="bitstream file, or - for stdin")
    d.add_argument("output", help="WAV file, or - for stdout")
    d.add_argument("--rate", type=_rate, help="output sample rate: a number, or 'original' for the input's "
                   "(default 16000)")
    d.add_argument("--force", action="store_true", help="overwrite the output file")
    d.set_defaults(func=cmd_decode)

    i = sub.add_parser("info", help="show a bitstream file's header and true bitrate")
    i.add_argument("input", help="bitstream file, or - for stdin")
    i.set_defaults(func=cmd_info)

    try:
        from .net import cli as net_cli
    except ImportError:  # streaming commands not installed in this build
        pass
    else:
        net_cli.add_commands(sub)
    return p


def _limit_threads_to_affinity() -> None:
    """Use no more threads than the CPUs this process may run on (e.g. under ``taskset``)."""
    import os

    import torch
    if hasattr(os, "sched_getaffinity"):
        torch.set_num_threads(max(1, min(torch.get_num_threads(), len(os.sched_getaffinity(0)))))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _limit_threads_to_affinity()
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("codec: interrupted", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:  # FormatError and AudioInputError are ValueErrors
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"codec: error: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
