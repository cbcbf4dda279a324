"""The ``codec`` command line: a thin layer over ``codec.runtime.api`` (and ``codec.net`` for
streams).

Exit codes: 0 success, 1 error (one line on stderr, no output file left behind), 2 usage
(argparse's usage line and one error line), 130 interrupted (Ctrl-C; partial output removed,
except what ``receive`` received), 143 terminated (SIGTERM; likewise).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from .errors import MAX_RATE, MIN_RATE, format_bitrates
from .runtime.signals import INTERRUPTED, handled
from .version import FILE_VERSION, __version__

LONG_INPUT_S = 30.0  # show a progress bar (on a terminal) for inputs longer than this


_quiet = False  # -q/--quiet: no notes, progress or summaries (warnings and errors still)


def _tty() -> bool:
    return sys.stderr.isatty()


def note(text: str) -> None:
    if not _quiet:
        print(text, file=sys.stderr)


def progress_bar(seconds: float, desc: str):
    """A tqdm bar counting seconds of audio (``bar.update(s)``), or None when stderr is not a
    terminal or the input is short."""
    if _quiet or not _tty() or seconds < LONG_INPUT_S:
        return None
    from tqdm import tqdm
    return tqdm(total=round(seconds, 1), unit="s", desc=desc, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio")


class _Bar:
    """Holds the bar made once the input is open, and feeds it samples at ``rate``."""

    def __init__(self):
        self.bar, self.rate = None, 1

    def start(self, seconds: float, rate: int, desc: str) -> None:
        self.bar, self.rate = progress_bar(seconds, desc), rate

    def update(self, n: int) -> None:
        if self.bar:
            self.bar.update(n / self.rate)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def engine(args):
    """``--model DIR``'s engine (its graphs on ONNX Runtime), or None for the shipped model."""
    from .runtime.engine import load_engine
    return load_engine(args.model) if args.model else None


def cmd_encode(args) -> None:
    from .runtime.api import encode_file
    from .runtime.audio import RawPCM, conversion_note
    bar = _Bar()

    def on_open(f) -> None:
        text = conversion_note(f.channels, f.samplerate, args.model_rate)
        if text:
            note(text)
        known = 0 if f.streamed else f.frames  # a pipe's header may not know its length
        bar.start(known / f.samplerate, f.samplerate, "encode")

    try:
        encode_file(args.input, args.output, args.bitrate, args.force, model=engine(args),
                    on_open=on_open, progress=bar.update, raw=RawPCM.from_args(args))
    finally:
        bar.close()


def cmd_decode(args) -> None:
    from .runtime.api import decode_file
    bar = _Bar()

    def on_open(header) -> None:
        rate = header.sample_rate if args.rate == "original" else args.rate or args.model_rate
        bar.start(header.duration_s, rate, "decode")

    try:
        decode_file(args.input, args.output, args.rate, args.force, model=engine(args),
                    on_open=on_open, progress=bar.update)
    finally:
        bar.close()


def cmd_info(args) -> None:
    from .runtime.api import open_bitstream
    from .formats import bitstream
    # the header first, then sizes and CRC read in blocks: memory and time do not depend on
    # what the input is (the geometry is --model's, or that of the model the id names)
    with open_bitstream(args.input, engine(args), codes=False, config_only=True) as (_, found):
        h = found.header
    size = h.file_size
    kbps = bitstream.true_bitrate_kbps(h, size)
    if args.json:
        print(json.dumps(info_fields(h, kbps, size), indent=2))
        return
    print(f"format version   {FILE_VERSION}\n"
          f"model id         {h.model_id.hex()} ({h.codec_rate} Hz, {h.hop}-sample frames)\n"
          f"input rate       {h.sample_rate} Hz\n"
          f"input samples    {h.num_samples}\n"
          f"duration         {h.duration_s:.3f} s\n"
          f"codebooks        {h.num_codebooks} x {h.codebook_bits} bits\n"
          f"frames           {h.num_frames}\n"
          f"nominal bitrate  {h.nominal_kbps:g} kbps\n"
          f"true bitrate     {kbps:.3f} kbps (file size {size} bytes, header included)")


def cmd_transcode(args) -> None:
    from .runtime.api import transcode_file
    transcode_file(args.input, args.output, args.bitrate, args.force, model=engine(args))


def info_fields(h, kbps: float, size: int) -> dict:
    """``codec info --json``: the header's fields and the file's measures, by name."""
    return {"format_version": FILE_VERSION, "model_id": h.model_id.hex(),
            "codec_rate": h.codec_rate, "frame_samples": h.hop, "input_rate": h.sample_rate,
            "input_samples": h.num_samples, "duration_s": h.duration_s,
            "codebooks": h.num_codebooks, "codebook_bits": h.codebook_bits,
            "frames": h.num_frames, "nominal_kbps": h.nominal_kbps,
            "true_kbps": kbps, "file_size": size}


def rate_type(original: bool = False):
    """An argparse type: a whole number of Hz from 1,000 to 384,000 (or ``original``)."""
    def parse(text: str) -> int | str:
        if original and text == "original":
            return text
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not MIN_RATE <= value <= MAX_RATE:
            extra = " or 'original'" if original else ""
            raise argparse.ArgumentTypeError(f"takes a whole number of Hz from {MIN_RATE} to "
                                             f"{MAX_RATE}{extra}, not {text!r}")
        return value
    return parse


def bitrate_type(bitrates):
    """An argparse type accepting exactly ``bitrates`` (kbps)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if value not in tuple(map(float, bitrates)):
            raise argparse.ArgumentTypeError(f"takes {format_bitrates(bitrates)} (kbps), "
                                             f"not {text!r}")
        return value
    return parse


def number_type(low: float, high: float | None = None, what: str = "a number"):
    """An argparse type: a finite float from ``low`` to ``high``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            span = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"
            raise argparse.ArgumentTypeError(f"takes {what} {span}, not {text!r}")
        return value
    return parse


EXAMPLES = """examples:
  codec encode speech.wav speech.cdc --bitrate 6
  codec info speech.cdc
  codec decode speech.cdc out.wav --rate original
  cat speech.wav | codec encode - - | codec decode - out.wav
  codec receive out.wav --listen 127.0.0.1:5004     # then, elsewhere:
  codec send speech.wav --to 127.0.0.1:5004

'codec COMMAND --help' shows a command's options."""


def build_parser(model: str | None = None) -> argparse.ArgumentParser:
    """The parser; bitrates, rate and frame size are ``model``'s (a folder; default the
    shipped model's)."""
    from .config import CodecConfig
    from .runtime.store import WEIGHTS_DIR, read_meta
    shipped = read_meta(WEIGHTS_DIR)
    meta = read_meta(model) if model else shipped
    config = CodecConfig.from_dict(meta["config"])
    rates, default = config.bitrates, 6.0 if 6.0 in config.bitrates else config.bitrates[0]
    bitrate_help = f"kbps: {format_bitrates(rates)} (default {default:g})"
    frame_ms = 1000 * config.hop / config.sample_rate
    p = argparse.ArgumentParser(prog="codec", description=f"Learned speech codec: "
                                f"{config.sample_rate / 1000:g} kHz, {frame_ms:g} ms frames, "
                                f"{format_bitrates(rates)} kbps.", epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(model_rate=config.sample_rate, quiet=False, model=None)
    p.add_argument("--version", action="version", version=f"codec {__version__} (shipped "
                   f"model {shipped['model_id']})")
    p.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    p.add_argument("--model", metavar="DIR", help=MODEL_HELP)
    common = argparse.ArgumentParser(add_help=False)  # options every command takes
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help=QUIET_HELP)
    common.add_argument("--model", metavar="DIR", default=argparse.SUPPRESS, help=MODEL_HELP)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=_subparser(common))

    e = sub.add_parser("encode", help="audio file -> bitstream file",
                       epilog="example: codec encode speech.wav speech.cdc --bitrate 3")
    e.add_argument("input", help="any file soundfile reads (wav, flac, ogg...), or - for stdin")
    e.add_argument("output", help="bitstream file (.cdc), or - for stdout")
    e.add_argument("--bitrate", type=bitrate_type(rates), default=default, help=bitrate_help)
    e.add_argument("--force", action="store_true", help="replace an existing output file")
    add_raw_options(e)
    e.set_defaults(func=cmd_encode)

    d = sub.add_parser("decode", help="bitstream file -> 16-bit audio (WAV, FLAC or OGG)",
                       epilog="example: codec decode speech.cdc out.flac --rate original")
    d.add_argument("input", help="bitstream file, or - for stdin")
    d.add_argument("output", help="audio file: .wav, .flac or .ogg by its name; WAV for - "
                   "(stdout) and names without an extension (a FIFO, a device)")
    d.add_argument("--rate", type=rate_type(original=True), help=f"output sample rate: "
                   f"{MIN_RATE}-{MAX_RATE} Hz, or 'original' for the input's (default "
                   f"{config.sample_rate})")
    d.add_argument("--force", action="store_true", help="replace an existing output file")
    d.set_defaults(func=cmd_decode)

    t = sub.add_parser("transcode", help="bitstream file -> the same at a lower bitrate, "
                       "without decoding", epilog="example: codec transcode speech.cdc "
                       "small.cdc --bitrate 3\n\nThe codes are stored coarse first: the "
                       "output keeps the input's first codebooks, which may differ\nfrom "
                       "what encoding the audio at that bitrate gives (its search of the "
                       "coarse codes).")
    t.add_argument("input", help="bitstream file, or - for stdin")
    t.add_argument("output", help="bitstream file (.cdc), or - for stdout")
    t.add_argument("--bitrate", type=bitrate_type(rates), required=True,
                   help=f"kbps: {format_bitrates(rates)}, at most the input's")
    t.add_argument("--force", action="store_true", help="replace an existing output file")
    t.set_defaults(func=cmd_transcode)

    i = sub.add_parser("info", help="show a bitstream file's header and true bitrate",
                       epilog="example: codec info speech.cdc --json")
    i.add_argument("input", help="bitstream file, or - for stdin")
    i.add_argument("--json", action="store_true", help="print the fields as a JSON object")
    i.set_defaults(func=cmd_info)

    try:
        from .net import cli as net_cli
    except ImportError:  # streaming commands not installed in this build
        pass
    else:
        net_cli.add_commands(sub, argparse.Namespace(
            bitrate=bitrate_type(rates), default_bitrate=default, bitrate_help=bitrate_help,
            rate=rate_type(), number=number_type, sample_rate=config.sample_rate,
            frame_s=config.hop / config.sample_rate,
            raw_options=add_raw_options))
    return p


def add_raw_options(p: argparse.ArgumentParser) -> None:
    """``--raw FORMAT --rate N [--channels C]``: headerless samples (``encode``, ``send``); an
    input is otherwise read by its header, stdin too."""
    from .runtime.raw_formats import RAW_FORMATS
    g = p.add_argument_group("raw PCM (an input without a header, e.g. arecord -t raw)")
    g.add_argument("--raw", choices=list(RAW_FORMATS), metavar="FORMAT", help="read the input "
                   f"as headerless samples: {', '.join(RAW_FORMATS)} (s16le: signed 16-bit "
                   "little-endian); needs --rate. Without it the input is read by its header "
                   "(WAV, FLAC, Ogg...), stdin too")
    g.add_argument("--rate", type=rate_type(), help="the raw samples' rate in Hz")
    g.add_argument("--channels", type=channels_type, help="the raw samples' channels, 1 to 64 "
                   "(default 1)")


def channels_type(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"takes a whole number from 1 to 64, not {text!r}")
    return int(text)


def check_raw_options(parser: argparse.ArgumentParser, args) -> None:
    """``--raw`` names the rate; ``--rate`` and ``--channels`` need ``--raw`` (usage errors)."""
    if not hasattr(args, "raw"):
        return
    if args.raw and args.rate is None:
        parser.error("--raw needs --rate N: the raw samples' rate (they have no header)")
    if not args.raw and (args.rate is not None or args.channels is not None):
        parser.error("--rate and --channels describe raw PCM: add --raw FORMAT (e.g. --raw "
                     "s16le); an input with a header (WAV, FLAC, Ogg) names its own")


QUIET_HELP = "no notes, progress or summaries on stderr (warnings and errors still)"
MODEL_HELP = ("a saved model's folder (config.json, codec.pt and its ONNX graphs, as "
              "codec/weights/) instead of the shipped model")


def model_arg(argv: list[str]) -> str | None:
    """``--model DIR`` from the command line, ahead of parsing it (the parser takes that
    model's bitrates); None when absent."""
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument("--model")
    try:
        known, _ = pre.parse_known_args(argv)
    except argparse.ArgumentError:  # "--model" without DIR: the full parser says so
        return None
    return known.model


def _subparser(common: argparse.ArgumentParser):
    """The subcommands' parser class: the options in ``common``, examples shown as written."""
    class Sub(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("parents", [common])
            kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
            super().__init__(*args, **kwargs)
    return Sub


def error_line(e: BaseException) -> str:
    """One line for an error: its message, an OSError as ``name: reason``."""
    if isinstance(e, OSError) and e.strerror:
        where = f"{e.filename}: " if e.filename is not None else ""
        return f"{where}{e.strerror}"
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def check_terminals(args) -> None:
    """As gzip does: no binary onto a terminal, and no waiting on a terminal for a file."""
    from .runtime.audio import STDOUT_NAMES
    from .errors import ArgumentError
    if str(getattr(args, "output", None)) in STDOUT_NAMES and sys.stdout.isatty():
        raise ArgumentError("refusing to write binary data to a terminal: redirect stdout "
                            "(> file, | command) or name an output file")
    if getattr(args, "input", None) == "-" and sys.stdin.isatty():
        raise ArgumentError("refusing to read from a terminal: pipe or redirect a file into "
                            "stdin (< file), or name the input file")


def main(argv: list[str] | None = None) -> int:
    global _quiet
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(model_arg(argv))
    except ValueError as e:  # --model DIR: not a saved model
        print(f"codec: error: --model: {error_line(e)}", file=sys.stderr)
        return 1
    args = parser.parse_args(argv)
    check_raw_options(parser, args)
    _quiet = args.quiet
    try:
        with handled():  # SIGTERM: SystemExit(143), unwinding like Ctrl-C (runtime/signals.py)
            check_terminals(args)
            args.func(args)
    except KeyboardInterrupt:  # also raised by send/receive after finishing cleanly
        print("codec: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        print("codec: error: the output pipe was closed before the end", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:  # FormatError, AudioInputError, ArgumentError: ValueErrors
        print(f"codec: error: {error_line(e)}", file=sys.stderr)
        return 1
    return 0


def _silence_stdout() -> None:
    """After a closed pipe, keep Python's exit-time flush of stdout from printing a traceback."""
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
