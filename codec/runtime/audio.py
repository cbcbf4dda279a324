"""Audio files in and out, block by block: read, downmix, resample, write; and safe outputs.

Long files are never held whole: ``read_blocks`` yields mono float32 blocks at the model's rate.
Resampling is libsoxr's (``soxr.ResampleStream``, HQ quality), one stream over all the blocks, so
the output does not depend on how the input was cut into blocks (bit for bit), and memory and time
stay small for any pair of rates from 1,000 to 384,000 Hz. No torch here: the runtime never needs
it. Inputs that are not audio, or that hold NaN or infinity, raise ``AudioInputError`` with a
one-line reason.

``Output`` checks where a command will write before any work (never its own input; devices and
FIFOs written in place; regular files replaced atomically, and only when forced).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile as sf
import soxr

from ..errors import (ArgumentError, AudioInputError, check_choice, check_int, check_sample_rate)
from .raw_formats import RAW_FORMATS
from .signals import raise_dropped

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")  # what the scripts and training look for
BLOCK_SECONDS = 5.0  # block size for long files: small next to memory, large next to overheads
MAX_CHANNELS = 64  # of an array passed to compress: more means [channels, samples] by mistake
RESAMPLE_QUALITY = "HQ"  # libsoxr's 20-bit preset (its default): a 1 kHz tone keeps its level
#                          within 0.0001 dB; streams hold back 40-120 ms by the rates
SIGNAL_DTYPES = ("float16", "float32", "float64", "int16")


class Resampler:
    """Streaming sample-rate conversion (libsoxr), equal to resampling the whole signal at once.

    ``push`` takes float32 blocks of any size (empty ones too) and returns what is ready: libsoxr
    holds back 40 to 120 ms, by the rates (its filter's delay, which it removes: output sample 0
    is input time 0), so a live stream at another rate starts that much later. ``flush`` ends
    the stream: in all, ``ceil(fed * new / orig)`` samples come out (libsoxr gives the rounded
    length; the last sample is zero-padded when that rounds down). Callers that need another
    length trim or pad with ``exact_length``. Equal rates pass blocks through untouched.
    """

    def __init__(self, orig: int, new: int):
        self.orig = check_sample_rate(orig, "the input rate")
        self.new = check_sample_rate(new, "the output rate")
        self._stream = None if self.orig == self.new else soxr.ResampleStream(
            self.orig, self.new, 1, dtype="float32", quality=RESAMPLE_QUALITY)
        self._fed = 0
        self._emitted = 0
        self._flushed = False

    def push(self, x: np.ndarray) -> np.ndarray:
        if self._flushed:
            raise RuntimeError("Resampler.push after flush")
        if self._stream is None:
            return x
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._fed += len(x)
        out = self._stream.resample_chunk(x)
        self._emitted += len(out)
        return out

    def flush(self) -> np.ndarray:
        """The remaining output, ``ceil(fed * new / orig)`` samples in total."""
        done, self._flushed = self._flushed, True
        if self._stream is None or done:
            return np.zeros(0, np.float32)
        left = -(-self._fed * self.new // self.orig) - self._emitted
        out = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)[: max(0, left)]
        if len(out) < left:
            out = np.concatenate([out, np.zeros(left - len(out), np.float32)])
        self._emitted += len(out)
        return out


# -- inputs ------------------------------------------------------------------------------------
def check_input_path(path, error: type = AudioInputError) -> os.stat_result:
    """An input file that exists, is not a directory and is not empty (one-line errors)."""
    what = "audio" if error is AudioInputError else "a bitstream"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"cannot open {path}: no such file") from None
    except OSError as e:
        raise error(f"cannot open {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"cannot read {what} from {path}: it is a directory")
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise error(f"cannot read {what} from {path}: the file is empty")
    if not os.access(path, os.R_OK):
        raise error(f"cannot open {path}: permission denied")
    return st


class PipeView:
    """A stream that cannot seek (a pipe, a FIFO, a device) as soundfile's file object.

    libsndfile's parsers seek: a little forward is read and thrown away, back is served from
    the last ``keep`` bytes kept (a header's look-back), and a read far ahead (a WAV parser
    looking past the audio for more chunks) finds the end; memory stays ``keep`` plus one read,
    for any length. The end is far away (libsndfile must not trust it), except for Ogg, whose reader
    would seek there for the length: it is told 0, which its stream mode accepts. Errors in the
    callbacks are kept in ``error`` (a short read to libsndfile), never raised through C.
    """

    FAR = 1 << 62

    def __init__(self, raw: BinaryIO, keep: int = 1 << 20):
        self.raw, self.keep = raw, keep
        self.buf, self.base, self.pos = bytearray(), 0, 0  # buf: bytes [base, base + len)
        self.eof, self.error = False, None
        self._fill(4)
        self.end = 0 if self.buf.startswith(b"OggS") else self.FAR

    @property
    def empty(self) -> bool:
        return self.eof and not self.buf and not self.base

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = (0, self.pos, self.end)[whence]
        self.pos = max(0, start + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if not self.base <= self.pos <= self.base + len(self.buf) + self.keep:
            return b""  # further back than kept, or a probe far ahead (for chunks after the
            #             audio): a short read, as at the end, rather than reading it all
        stop = self.FAR if n is None or n < 0 else self.pos + n
        self._fill(stop)
        i = self.pos - self.base
        out = bytes(self.buf[i: i + stop - self.pos])
        self.pos += len(out)
        return out

    def _fill(self, stop: int) -> None:
        while not self.eof and self.base + len(self.buf) < stop:
            try:
                data = self.raw.read(min(1 << 16, stop - self.base - len(self.buf)))
            except OSError as e:
                self.error, data = e, b""
            if not data:
                self.eof = True
            self.buf += data
            drop = min(len(self.buf) - self.keep, self.pos - self.base)
            if drop > 1 << 16:  # forget what lies behind the window
                del self.buf[:drop]
                self.base += drop


def check_not_empty(found: bool, source, error: type = AudioInputError) -> None:
    """Refuse a stream (stdin, a FIFO) that ended before its first byte."""
    if not found:
        raise error("stdin is empty: pipe a file into it, or name a file" if source == "-"
                    else f"cannot read {source}: it is empty")


def open_binary(source, error: type = AudioInputError) -> tuple[BinaryIO, bool]:
    """``(file, regular)``: ``-`` (stdin) or a path, opened for binary reading (the caller
    closes a path's file); ``regular`` when it can seek (a regular file)."""
    if source == "-":
        f = sys.stdin.buffer
    else:
        check_input_path(source, error)
        try:
            f = open(source, "rb")
        except OSError as e:
            raise error(f"cannot open {source}: {e.strerror or e}") from None
    try:
        regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        regular = f.seekable()
    return f, regular


@dataclass(frozen=True)
class RawPCM:
    """Samples without a header, as ``--raw FORMAT --rate N [--channels C]`` names them:
    ``format`` one of ``RAW_FORMATS`` (``s16le``: signed 16-bit little-endian)."""
    format: str
    rate: int
    channels: int = 1

    def __post_init__(self):
        check_choice(self.format, RAW_FORMATS, "the raw format")
        check_sample_rate(self.rate, "the raw PCM's rate")
        check_int(self.channels, "the raw PCM's channels", 1, MAX_CHANNELS)

    @classmethod
    def from_args(cls, args) -> "RawPCM | None":
        """The ``RawPCM`` that ``--raw``, ``--rate`` and ``--channels`` (parsed command-line
        arguments) describe, or None."""
        return cls(args.raw, args.rate, args.channels or 1) if args.raw else None


def open_audio(source: str | Path | BinaryIO, raw: RawPCM | None = None) -> sf.SoundFile:
    """Open audio: any file soundfile reads, by its header, or headerless samples described by
    ``raw``. The one way every command reads its input, ``-`` (stdin) included: stdin, pipes,
    FIFOs and devices are read in blocks as they come (``PipeView``): ``f.frames`` is then only
    what the header claims, and ``f.streamed`` is True. The sample rate must be 1,000 to
    384,000 Hz."""
    name = "stdin" if source == "-" else "the stream" if isinstance(source, io.IOBase) \
        else str(source)
    if isinstance(source, io.IOBase):
        handle, regular = source, source.seekable()
    elif source != "-" and stat.S_ISREG(check_input_path(source).st_mode):
        handle, regular = source, True
    else:
        handle, regular = open_binary(source)
    owned = handle if handle is not source and source != "-" else None
    try:
        if not regular:
            handle = PipeView(handle)
            check_not_empty(not handle.empty, source)
        f = _sound_file(handle, name, raw)
    except BaseException:
        if owned:
            owned.close()
        raise
    f.streamed = not regular
    if owned:
        _close_with(f, owned)
    return f


def _sound_file(handle, name: str, raw: RawPCM | None = None) -> sf.SoundFile:
    try:
        with raise_dropped():
            f = sf.SoundFile(handle) if raw is None else sf.SoundFile(
                handle, "r", raw.rate, raw.channels, *RAW_FORMATS[raw.format], format="RAW")
    except sf.LibsndfileError as e:
        hint = (" (raw PCM has no header: name its format and rate, e.g. --raw s16le --rate "
                "RATE)") if name == "stdin" and raw is None else ""
        raise AudioInputError(f"cannot read audio from {name}: {_reason(e)}{hint}") from None
    except (OSError, RuntimeError, TypeError) as e:
        raise AudioInputError(f"cannot read audio from {name}: {e}") from None
    try:
        check_sample_rate(f.samplerate, f"the sample rate of {name}", AudioInputError)
    except AudioInputError:
        f.close()
        raise
    return f


def _close_with(f: sf.SoundFile, handle) -> None:
    close = f.close

    def both() -> None:
        try:
            close()
        finally:
            handle.close()
    f.close = both


def _reason(e: sf.LibsndfileError) -> str:
    text = getattr(e, "error_string", "") or str(e)
    return "not a WAV, FLAC, OGG or other file soundfile reads" if "not recognised" in text \
        else text.rstrip(".")


def list_audio_files(source: str | Path, recursive: bool = True) -> list[Path]:
    """Audio files of a folder (sorted; subfolders too if ``recursive``), or the first column
    of a ``.tsv`` manifest (a header row, then paths relative to the manifest's folder)."""
    source = Path(source)
    if source.suffix == ".tsv":
        with open(source, newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))[1:]
        return [source.parent / row[0] for row in rows if row]
    found = source.rglob("*") if recursive else source.glob("*")
    return sorted(p for p in found if p.suffix.lower() in AUDIO_SUFFIXES)


def read_blocks(f: sf.SoundFile, sample_rate: int,
                block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``sample_rate`` from an open file, downmixed and resampled."""
    return resample_blocks(mono_blocks(f, block_seconds), f.samplerate, sample_rate)


def mono_blocks(f: sf.SoundFile, block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Mono float32 blocks at the file's own rate, downmixed."""
    return _mono_blocks(f, max(1, int(block_seconds * f.samplerate)))


def conversion_note(channels: int, rate: int, target: int) -> str | None:
    """``note: downmixing 2 channels to mono, resampling 44100 Hz to 22050 Hz``, or None."""
    notes = []
    if channels > 1:
        notes.append(f"downmixing {channels} channels to mono")
    if rate != target:
        notes.append(f"resampling {rate} Hz to {target} Hz")
    return "note: " + ", ".join(notes) if notes else None


def _mono_blocks(f: sf.SoundFile, block: int) -> Iterator[np.ndarray]:
    while True:
        try:
            with raise_dropped():  # a file object is read through callbacks: signals.py
                data = f.read(block, dtype="float32", always_2d=True)
        except sf.LibsndfileError as e:
            raise AudioInputError(f"cannot decode audio: {e}") from None
        if len(data) == 0:
            return
        mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
        check_finite(mono)
        yield mono


def check_finite(x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise AudioInputError("input holds NaN or infinite samples")


def check_signal(wav, name: str = "wav", length: int | None = None) -> np.ndarray:
    """An array of samples: float (in [-1, 1]) or int16, 1-D or ``[samples, channels]``
    (exactly ``length`` samples, 1-D, when given), without NaN or infinity."""
    if _is_torch_tensor(wav):  # detected without importing torch
        wav = wav.detach().cpu().numpy()
    if not isinstance(wav, (np.ndarray, list, tuple)):
        raise AudioInputError(f"{name} must be a numpy array of samples, got {type(wav).__name__}")
    x = np.asarray(wav)
    if x.dtype.name not in SIGNAL_DTYPES:
        raise AudioInputError(f"{name} must hold float samples in [-1, 1] or int16, "
                              f"got dtype {x.dtype}")
    if length is not None and x.shape != (length,):
        raise AudioInputError(f"{name} must be one frame of exactly {length} samples (1-D), "
                              f"got shape {x.shape}")
    if x.ndim == 2 and not 1 <= x.shape[1] <= MAX_CHANNELS:
        raise AudioInputError(f"{name} must be [samples, channels] with 1 to {MAX_CHANNELS} "
                              f"channels, got shape {x.shape} (transpose a [channels, samples] "
                              "array)")
    if x.ndim not in (1, 2):
        raise AudioInputError(f"{name} must be 1-D or [samples, channels], got shape {x.shape}")
    return x


def _is_torch_tensor(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


INT16_SCALE = 32768  # the int16 sample n is the float n / 32768, in [-1, 1)


def from_int16(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """int16 samples -> float32 in [-1, 1): ``n / 32768`` (into ``out`` when given, which then
    allocates nothing). The one int16 -> float scaling; ``to_int16`` undoes it."""
    return np.multiply(x, np.float32(1 / INT16_SCALE), out=out, dtype=np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> int16: ``round(x * 32768)`` clipped to -32768..32767, so
    that ``from_int16`` gives every int16 sample back exactly."""
    scaled = np.round(np.asarray(x, dtype=np.float64) * INT16_SCALE)
    return np.clip(scaled, -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)


def to_float32(x: np.ndarray) -> np.ndarray:
    """Samples as float32: int16 scaled to [-1, 1), floats cast; NaN or infinity refused."""
    x = np.asarray(x)
    if x.dtype == np.int16:
        return from_int16(x)
    x = x.astype(np.float32, copy=False)
    check_finite(x)
    return x


def frame_into(out: np.ndarray, frame, name: str = "frame") -> None:
    """Write one frame (float in [-1, 1] or int16, exactly ``len(out)`` samples, 1-D) into the
    float32 buffer ``out``, int16 scaled to [-1, 1) and floats clipped to [-1, 1]; the checks and
    errors of ``check_signal`` and ``to_float32``. The per-frame path: a float32 frame costs four
    numpy calls (an int16 one, one) and allocates only the finiteness check's booleans."""
    if type(frame) is not np.ndarray or frame.shape != out.shape \
            or frame.dtype.name not in ("float32", "int16"):
        frame = to_float32(check_signal(frame, name, len(out)))
    elif frame.dtype.name == "int16":
        from_int16(frame, out)
        return
    else:
        check_finite(frame)
    np.maximum(frame, -1.0, out=out)
    np.minimum(out, 1.0, out=out)


def in_blocks(x: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """``x`` in consecutive pieces of ``size`` samples (views)."""
    for i in range(0, len(x), size):
        yield x[i: i + size]


def whole_frames(blocks: Iterator[np.ndarray], hop: int) -> Iterator[np.ndarray]:
    """Blocks of any sizes -> the whole frames (``hop`` samples each) they hold: one piece of
    whole frames per block (empty while a block only fills the frame in hand), the samples
    past the last whole frame carried on to the next block, and at the end the last partial
    frame zero-padded to a whole one. The one place a block stream is cut into frames (file
    encoding in ``api.py``, the live sender in ``net/sender.py``)."""
    carry = np.zeros(0, np.float32)
    for block in blocks:
        carry = np.concatenate([carry, block]) if len(carry) else block
        whole = len(carry) - len(carry) % hop
        yield carry[:whole]
        carry = carry[whole:]
    if len(carry):
        yield np.pad(carry, (0, hop - len(carry)))


def exact_length(blocks: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """Trim or zero-pad a block stream to exactly ``n`` samples (resampling rounds up)."""
    for b in blocks:
        if n <= 0:
            return
        yield b[:n]
        n -= min(n, len(b))
    if n > 0:
        yield np.zeros(n, np.float32)


def resample_blocks(blocks: Iterator[np.ndarray], orig: int, new: int) -> Iterator[np.ndarray]:
    """The same blocks at another rate (one ``Resampler`` over the stream of blocks); at the
    same rate, the non-empty blocks themselves (no libsoxr stream, not a sample touched)."""
    rs = Resampler(orig, new)
    for b in blocks:
        out = rs.push(b)
        if len(out):
            yield out
    tail = rs.flush()
    if len(tail):
        yield tail


# -- outputs -----------------------------------------------------------------------------------
AUDIO_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"),
                 ".ogg": ("OGG", "VORBIS")}
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")


def audio_format_for(dest) -> tuple[str, str]:
    """(format, subtype) that an audio output's name asks for: ``.wav``, ``.flac`` or ``.ogg``;
    WAV for ``-`` and names without an extension (a FIFO, a device)."""
    ext = "" if str(dest) in STDOUT_NAMES else Path(str(dest)).suffix.lower()
    if not ext:
        return AUDIO_FORMATS[".wav"]
    if ext not in AUDIO_FORMATS:
        raise ArgumentError(f"cannot write {dest}: an audio output is .wav, .flac or .ogg "
                            f"(or a name without an extension, for WAV), not {ext}")
    return AUDIO_FORMATS[ext]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _input_stats(inputs) -> list[tuple[str, os.stat_result]]:
    found = []
    for src in inputs:
        try:
            st = os.fstat(sys.stdin.fileno()) if src == "-" else os.stat(src)
        except (OSError, ValueError, io.UnsupportedOperation):
            continue
        if stat.S_ISREG(st.st_mode):
            found.append(("stdin" if src == "-" else str(src), st))
    return found


class Output:
    """Where a command writes, checked on construction, before any work is done.

    ``-`` (and ``/dev/stdout``) is standard output; character devices and FIFOs are written in
    place (no ``force`` needed); a regular file (or a symlink's target) is written to a
    temporary file beside it and renamed over it when complete, only with ``force`` if it
    exists, with the umask's mode. Refused: the command's own input (by inode, so any spelling,
    symlink or hard link, and stdin redirected from it), directories, block devices, sockets,
    a missing folder.
    """

    def __init__(self, dest, force: bool = False, inputs=()):
        self.name, self.force = str(dest), force
        self.stdout = self.name in STDOUT_NAMES
        self.target = self.name if self.stdout else os.path.realpath(self.name)
        self.in_place = False
        ins = _input_stats(inputs)
        if self.stdout:
            self._check_not_input(self._fd_stat(1), ins, "stdout")
            return
        try:
            st = os.stat(self.target)
        except FileNotFoundError:
            self._check_folder()
            return
        except OSError as e:
            raise ArgumentError(f"cannot write {self.name}: {e.strerror or e}") from None
        self._check_not_input(st, ins, self.name)
        self._check_kind(st)

    @staticmethod
    def _fd_stat(fd: int):
        try:
            return os.fstat(fd)
        except OSError:
            return None

    def _check_not_input(self, st, ins, where: str) -> None:
        for src, sti in ins:
            if st is not None and _same(st, sti):
                what = "its input" if src == where else f"the input {src}"
                raise ArgumentError(f"cannot write {where}: it is {what} "
                                    "(write the output to another file)")

    def _check_kind(self, st: os.stat_result) -> None:
        mode, name = st.st_mode, self.name
        if stat.S_ISDIR(mode):
            raise ArgumentError(f"cannot write {name}: it is a directory (name a file in it)")
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            self.in_place = True
            if not os.access(self.target, os.W_OK):
                raise ArgumentError(f"cannot write {name}: permission denied")
            return
        if not stat.S_ISREG(mode):
            kind = "a block device" if stat.S_ISBLK(mode) else \
                "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
            raise ArgumentError(f"cannot write {name}: it is {kind} (write to a file, a FIFO, "
                                "a character device or -)")
        if not self.force:
            raise FileExistsError(f"{name} exists (use --force to overwrite)")
        self._check_folder()

    def _check_folder(self) -> None:
        folder = os.path.dirname(self.target) or "."
        if not os.path.isdir(folder):
            shown = os.path.dirname(self.name) or folder
            raise ArgumentError(f"cannot write {self.name}: folder {shown} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ArgumentError(f"cannot write {self.name}: no permission to write in "
                                f"{os.path.dirname(self.name) or '.'}")

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary file object whose content appears at the destination only if the block
        succeeds (streams and devices get it at the end; WAV headers are rewritten there)."""
        if self.stdout or self.in_place:
            with tempfile.TemporaryFile() as f:
                yield f
                f.seek(0)
                if self.stdout:
                    shutil.copyfileobj(f, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(self.target, "wb") as dev:
                        shutil.copyfileobj(f, dev)
            return
        folder, base = os.path.split(self.target)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=folder or ".")
        except OSError as e:
            raise OSError(e.errno, f"cannot write {self.name}: {e.strerror}") from None
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "w+b") as f:
                yield f
            try:
                os.replace(tmp, self.target)
            except OSError as e:
                raise OSError(e.errno, f"cannot write {self.name}: {e.strerror}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_audio_blocks(f: BinaryIO, blocks: Iterator[np.ndarray], sample_rate: int,
                       fmt: tuple[str, str] = AUDIO_FORMATS[".wav"]) -> int:
    """Write float blocks, clipped to [-1, 1], as ``fmt`` (16-bit PCM WAV unless told);
    returns the samples written."""
    n = 0
    with raise_dropped(), sf.SoundFile(f, "w", sample_rate, 1, fmt[1], format=fmt[0]) as out:
        for b in blocks:  # soundfile writes through callbacks: signals.py
            with raise_dropped():
                out.write(np.clip(b, -1.0, 1.0))
            n += len(b)
    return n
