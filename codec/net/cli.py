"""The ``codec send`` and ``codec receive`` commands: thin layers over ``sender`` and ``receiver``.

Errors are ``ValueError``/``OSError`` (``codec.__main__`` prints one line and exits 1).
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

import numpy as np

from .receiver import DEFAULT_PORT, IDLE_TIMEOUT, Receiver
from .sender import parse_address, send_file, send_pcm
from .stats import format_summary


def _note(text: str) -> None:
    print(f"codec: {text}", file=sys.stderr)


def _load_model():
    """The shipped model, with torch on one thread: one 20 ms frame at a time gains nothing from
    more, and on a busy machine the threads' waiting makes each frame many times slower."""
    import torch
    from ..api import load_model
    torch.set_num_threads(1)
    return load_model()


def cmd_send(args) -> None:
    dest = parse_address(args.to)
    model = _load_model()
    options = dict(bitrate=args.bitrate, loss=args.loss, seed=args.seed, pace=not args.no_pace)
    if args.input == "-":
        stats = send_pcm(model, sys.stdin.buffer, dest, args.rate, args.channels, **options)
    else:
        stats = send_file(model, args.input, dest, **options)
    _note(f"sent stream {stats.stream_id:08x} to {args.to}: {stats.frames} frames "
          f"({stats.samples / 16000:.2f} s) in {stats.seconds:.2f} s, {stats.sent} audio packets, "
          f"{stats.dropped} dropped by --loss, {stats.kbps:.2f} kbps on the wire"
          + (" (interrupted)" if stats.interrupted else ""))


class SoundCard:
    """Plays frames on the default output device through a ``sounddevice`` callback; plays
    silence when it runs dry, and keeps at most one second queued."""

    def __init__(self, sample_rate: int):
        import sounddevice
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
        time.sleep(0.02 * len(self._queue) + 0.1)  # let the queue play out
        self._stream.stop()
        self._stream.close()


def _open_sound_card(sample_rate: int) -> SoundCard | None:
    try:
        return SoundCard(sample_rate)
    except ImportError:
        _note("--play needs the sounddevice package (pip install 'codec[audio]'); "
              "writing the file only")
    except Exception as e:  # noqa: BLE001 - PortAudio errors: no library, no device
        _note(f"--play: no sound output ({str(e).splitlines()[0] if str(e) else e!r}); "
              "writing the file only")
    return None


def cmd_receive(args) -> None:
    if args.output != "-" and Path(args.output).exists() and not args.force:
        raise FileExistsError(f"{args.output} exists (use --force to overwrite)")
    listen = parse_address(args.listen)
    model = _load_model()
    card = _open_sound_card(model.config.sample_rate) if args.play else None
    receiver = Receiver(model, listen, realtime=args.play, jitter_ms=args.jitter_ms,
                        wait=args.wait, idle_timeout=args.idle,
                        on_play=card.play if card else None, note=_note)
    _note(f"listening on {receiver.address[0]}:{receiver.address[1]}")
    try:
        stats = receiver.run(args.output, args.force)
    finally:
        if card:
            card.close()
    print(format_summary(stats), file=sys.stderr)


def add_commands(sub) -> None:
    """Add ``send`` and ``receive`` to the ``codec`` command's subparsers."""
    s = sub.add_parser("send", help="stream audio to a receiver over UDP, one packet per 20 ms")
    s.add_argument("input", help="audio file, or - for raw 16-bit little-endian PCM on stdin "
                   "(e.g. from arecord or sox)")
    s.add_argument("--to", required=True, metavar="HOST:PORT", help="the receiver's address")
    s.add_argument("--bitrate", type=float, default=6.0, help="kbps: 1.5, 3, 6 or 9 (default 6)")
    s.add_argument("--loss", type=float, default=0.0, metavar="P",
                   help="simulate the loss of a random fraction P (0 to 1) of the audio packets")
    s.add_argument("--seed", type=int, help="seed of the loss simulation")
    s.add_argument("--no-pace", action="store_true",
                   help="send as fast as possible instead of one packet every 20 ms")
    s.add_argument("--rate", type=int, default=16000, help="sample rate of PCM on stdin "
                   "(default 16000)")
    s.add_argument("--channels", type=int, default=1, help="channels of PCM on stdin (default 1)")
    s.set_defaults(func=cmd_send)

    r = sub.add_parser("receive", help="receive a UDP stream into a 16-bit WAV file")
    r.add_argument("output", help="WAV file, or - for stdout (written at the end)")
    r.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", metavar="HOST:PORT",
                   help=f"address to listen on (default 127.0.0.1:{DEFAULT_PORT})")
    r.add_argument("--jitter-ms", type=float, default=60.0, metavar="J",
                   help="with --play: jitter-buffer depth in ms, grown on late packets (default 60)")
    r.add_argument("--wait", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the first packet (default 30)")
    r.add_argument("--idle", type=float, default=IDLE_TIMEOUT, metavar="S",
                   help=f"stop this long after the last packet (default {IDLE_TIMEOUT:g} s)")
    r.add_argument("--play", action="store_true", help="play in real time through a jitter "
                   "buffer (needs sounddevice and a sound card; else only paces the playout)")
    r.add_argument("--force", action="store_true", help="overwrite the output file")
    r.set_defaults(func=cmd_receive)
