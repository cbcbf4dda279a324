"""The ``codec send`` and ``codec receive`` commands: thin layers over ``sender`` and ``receiver``.

Errors are ``ValueError``/``OSError`` (``codec.__main__`` prints one line and exits 1).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from typing import TYPE_CHECKING

from . import DEFAULT_PORT, IDLE_TIMEOUT

if TYPE_CHECKING:
    import numpy as np

# The commands import what they run when they run, so that building the parser (``--help``)
# stays cheap.


_quiet = False  # -q/--quiet, set by each command: warnings only


def _note(text: str, warning: bool = False) -> None:
    if warning or not _quiet:
        print(f"codec: {text}", file=sys.stderr)


def _engine(args):
    """``--model DIR``'s engine, else the shipped model's."""
    from ..runtime.engine import load_engine, shipped_engine
    return load_engine(args.model) if args.model else shipped_engine()


def _notes_from(args) -> None:
    global _quiet
    _quiet = args.quiet


def cmd_send(args) -> None:
    from ..runtime.audio import RawPCM, conversion_note
    from .sender import send_file
    _notes_from(args)
    model = _engine(args)
    rate = model.config.sample_rate
    options = dict(bitrate=args.bitrate, loss=args.loss, seed=args.seed, pace=not args.no_pace)

    def on_open(f) -> None:
        text = conversion_note(f.channels, f.samplerate, rate)
        if text and not _quiet:
            print(text, file=sys.stderr)
    # read as codec encode reads it: by its header, stdin too; raw samples only with --raw
    stats = send_file(model, args.input, args.to, on_open=on_open, raw=RawPCM.from_args(args), **options)
    host, port = args.to
    ip = "IPv6" if stats.ip_header == 48 else "IPv4"
    _note(f"sent stream {stats.stream_id:08x} to {host}:{port}: {stats.frames} frames "
          f"({stats.samples / rate:.2f} s) in {stats.seconds:.2f} s, {stats.sent} audio packets, "
          f"{stats.dropped} dropped by --loss; {stats.payload_kbps:.2f} kbps codec payload, "
          f"{stats.audio_kbps:.2f} kbps with packet headers (as codec receive counts them), "
          f"{stats.network_kbps:.2f} kbps on the network (with {ip} and UDP headers); "
          f"{stats.control} START/END packets, {stats.control_bytes} bytes"
          + (" (interrupted)" if stats.interrupted else ""))
    if stats.refused:
        _note(f"warning: {host}:{port} answered {stats.refused} packets with ICMP port "
              f"unreachable: no receiver was listening there (for all or part of the stream)",
              warning=True)
    if stats.interrupted:  # END was sent; the exit status is 130 or 143
        raise stats.interrupted


class SoundCard:
    """Plays frames on the default output device through a ``sounddevice`` callback; plays
    silence when it runs dry, and keeps at most 50 frames queued."""

    def __init__(self, sample_rate: int):
        import numpy as np
        import sounddevice
        self._rate = sample_rate
        self._queue: collections.deque = collections.deque(maxlen=50)
        self._current = np.zeros(0, np.float32)
        self._stream = sounddevice.OutputStream(samplerate=sample_rate, channels=1,
                                                dtype="float32", callback=self._fill)
        self._stream.start()

    def play(self, samples: np.ndarray) -> None:
        self._queue.append(samples)

    def _fill(self, out, frames, time_info, status) -> None:
        n = 0
        while n < frames:
            if not len(self._current):
                if not self._queue:
                    out[n:, 0] = 0
                    return
                self._current = self._queue.popleft()
            k = min(frames - n, len(self._current))
            out[n: n + k, 0] = self._current[:k]
            self._current, n = self._current[k:], n + k

    def close(self) -> None:
        queued = sum(map(len, self._queue)) + len(self._current)
        time.sleep(queued / self._rate + 0.1)  # let the queue play out
        self._stream.stop()
        self._stream.close()


def _open_sound_card(sample_rate: int) -> SoundCard | None:
    try:
        return SoundCard(sample_rate)
    except ImportError:
        _note("--play needs the sounddevice package (pip install 'codec[audio]'); "
              "writing the file only", warning=True)
    except Exception as e:  # noqa: BLE001 - PortAudio errors: no library, no device
        _note(f"--play: no sound output ({str(e).splitlines()[0] if str(e) else e!r}); "
              "writing the file only", warning=True)
    return None


def _tty() -> bool:
    return sys.stderr.isatty()


def _receive_progress(rate: int):
    """A once-a-second status line on a terminal (the stream's length is not known ahead)."""
    if _quiet or not _tty():
        return None, None

    def show(stats) -> None:
        print(f"\rreceiving: {stats.samples / rate:.0f} s, {stats.received} packets, "
              f"{stats.lost} lost", end="", file=sys.stderr, flush=True)

    def done() -> None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    return show, done


def cmd_receive(args) -> None:
    from ..runtime.audio import Output, audio_format_for
    from .receiver import Receiver
    from .stats import format_summary
    _notes_from(args)
    Output(args.output, args.force)  # refuse a bad output before waiting for a stream
    fmt = audio_format_for(args.output)
    host, port = args.listen
    model = _engine(args)
    rate = model.config.sample_rate
    card = _open_sound_card(rate) if args.play else None
    show, done = _receive_progress(rate)
    receiver = Receiver(model, (host, port), realtime=args.play, jitter_ms=args.jitter_ms,
                        wait=args.wait, idle_timeout=args.idle,
                        on_play=card.play if card else None,
                        note=lambda text: _note(text, warning=True), progress=show)
    _note(f"listening on {receiver.address[0]}:{receiver.address[1]}")
    try:
        stats = receiver.run(args.output, args.force, fmt)
    finally:
        if done:
            done()
        if card:
            card.close()
    if not _quiet:
        print(format_summary(stats), file=sys.stderr)
    if receiver.interrupted:  # the file keeps what was received; the exit status is 130 or 143
        raise receiver.interrupted


def _address(text: str) -> tuple[str, int]:
    from .sender import parse_address
    try:
        return parse_address(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_commands(sub, types) -> None:
    """Add ``send`` and ``receive`` to the ``codec`` command's subparsers; ``types`` holds the
    argparse types and defaults that ``codec.__main__`` shares (bitrate, rate, number) and the
    model's sample rate and frame duration (``frame_s``)."""
    s = sub.add_parser("send", help="stream audio to a receiver over UDP, one packet per frame "
                       f"({types.frame_s * 1000:g} ms)",
                       epilog="examples:\n  codec send speech.wav --to 127.0.0.1:5004\n"
                       "  arecord -f S16_LE -r 48000 | codec send - --to 192.168.1.20:5004\n"
                       "  arecord -t raw -f S16_LE -r 48000 | codec send - --raw s16le --rate "
                       "48000 --to HOST:5004")
    s.add_argument("input", help="audio file, or - for stdin (read by its header, as codec "
                   "encode reads it: WAV, FLAC, Ogg...; raw samples with --raw)")
    s.add_argument("--to", required=True, metavar="HOST:PORT", type=_address,
                   help="the receiver's address")
    s.add_argument("--bitrate", type=types.bitrate, default=types.default_bitrate,
                   help=types.bitrate_help)
    s.add_argument("--loss", type=types.number(0, 1, "a fraction"), default=0.0, metavar="P",
                   help="simulate the loss of a random fraction P (0 to 1) of the audio packets")
    s.add_argument("--seed", type=int, help="seed of the loss simulation")
    s.add_argument("--no-pace", action="store_true",
                   help="send as fast as possible instead of one packet per frame")
    types.raw_options(s)
    s.set_defaults(func=cmd_send)

    r = sub.add_parser("receive", help="receive a UDP stream into a 16-bit audio file",
                       epilog="examples:\n  codec receive call.wav --listen 0.0.0.0:5004\n"
                       "  codec receive call.wav --play --jitter-ms 60")
    r.add_argument("output", help="audio file (.wav, .flac or .ogg by its name; WAV for - "
                   "and names without an extension), written at the end")
    r.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", metavar="HOST:PORT",
                   type=_address, help=f"address to listen on (default 127.0.0.1:{DEFAULT_PORT})")
    r.add_argument("--jitter-ms", type=types.number(0, 300, "milliseconds"), default=60.0,
                   metavar="J", help="with --play: jitter-buffer depth in ms, grown on late "
                   "packets (default 60)")
    r.add_argument("--wait", type=types.number(0, None, "seconds"), default=30.0, metavar="S",
                   help="seconds to wait for the first packet (default 30)")
    r.add_argument("--idle", type=types.number(types.frame_s, None, "seconds"), default=IDLE_TIMEOUT,
                   metavar="S", help=f"stop this long after the last packet (default "
                   f"{IDLE_TIMEOUT:g} s)")
    r.add_argument("--play", action="store_true", help="play in real time through a jitter "
                   "buffer (needs sounddevice and a sound card; else only paces the playout)")
    r.add_argument("--force", action="store_true", help="replace an existing output file")
    r.set_defaults(func=cmd_receive)
