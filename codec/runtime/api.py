"""The library functions behind the CLI: compress/decompress in memory, encode/decode files.

Files are processed in blocks with the convolution state carried across them, so a long file
costs the memory of one block and gives the same codes as encoding it whole.
"""

from __future__ import annotations

import functools
import os
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

from ..config import CodecConfig
from ..errors import (MAX_RATE, MIN_RATE, ArgumentError, AudioInputError, FormatError,
                      check_bitrate, check_bytes, check_sample_rate)
from ..formats import bitstream
from .audio import (BLOCK_SECONDS, Output, RawPCM, audio_format_for, check_not_empty, check_signal,
                    exact_length, in_blocks, mono_blocks, open_audio, open_binary, resample_blocks,
                    to_float32, whole_frames, write_audio_blocks)
from .clipping import CheckedFile, ClipCheck
from .engine import Engine, load_engine, shipped_engine
from .protocols import RuntimeModel
from .store import config_for_id, model_dir_for_id
from .streaming import DecoderStream, EncoderStream, check_model, runtime_model

Progress = Callable[[int], None]  # called with the number of new input samples done


def model_for_id(model_id: bytes) -> Engine:
    """The engine of the model that wrote a file or stream: the shipped one or an earlier one
    the package keeps (``store.MODEL_SEARCH_PATH``); ``FormatError`` naming the id otherwise."""
    shipped = shipped_engine()
    if bytes(model_id) == shipped.model_id:
        return shipped
    from . import store
    return _earlier_engine(bytes(model_id), tuple(map(str, store.MODEL_SEARCH_PATH)))


@functools.lru_cache(maxsize=4)
def _earlier_engine(model_id: bytes, search: tuple[str, ...]) -> Engine:
    return load_engine(model_dir_for_id(model_id, [Path(p) for p in search]))


def model_for_file(data: bytes) -> Engine:
    """The model that wrote a ``.cdc`` file, by the id in its header (see ``_by_file_id``)."""
    return _by_file_id(data, model_for_id)


def config_for_file(data: bytes) -> CodecConfig:
    """The config (frame geometry, code width) of the model that wrote a ``.cdc`` file, without
    loading the model (for ``codec info``)."""
    return _by_file_id(data, config_for_id)


def _by_file_id(data: bytes, lookup: Callable):
    """``lookup(model id)`` of a file's header. An unknown id in a damaged file (a flipped bit in
    the id) reports the damage, not the id."""
    model_id = bitstream.read_model_id(data)
    try:
        return lookup(model_id)
    except FormatError:
        bitstream.check_integrity(data)
        raise


@contextmanager
def naming(src) -> Iterator[None]:
    """``FormatError``s (and ``ArgumentError``s) about a file's content, prefixed with the
    file's name (``stdin``)."""
    try:
        yield
    except (FormatError, ArgumentError) as e:
        raise type(e)(f"{_shown(src)}: {e}") from None


def read_header(data: bytes, model: RuntimeModel | None = None) -> bitstream.Header:
    """A file's header, with the frame geometry of ``model`` (default: the model the file names)."""
    model = model or model_for_file(data)
    return bitstream.read_header(data, model.config.sample_rate, model.hop)


@dataclass(frozen=True)
class EncodeResult:
    header: bitstream.Header
    size: int  # bytes of the file written

    @property
    def kbps(self) -> float:
        return bitstream.true_bitrate_kbps(self.header, self.size)


def encode_blocks(model: RuntimeModel, blocks: Iterator[np.ndarray], sample_rate: int,
                  num_samples: int, num_codebooks: int, progress: Progress | None = None) -> bytes:
    """Float blocks at the model's rate (any sizes) -> a complete bitstream file's bytes, with
    ``num_codebooks`` codes a frame (``codebooks_for(model, bitrate)``)."""
    target = bitstream.output_samples_for(num_samples, sample_rate, model.config.sample_rate)
    stream = _encoder(model, num_codebooks)
    codes = list(code_blocks(stream, exact_length(blocks, target), progress))
    all_codes = np.concatenate(codes, axis=1) if codes else np.zeros(
        (stream.num_codebooks, 0), np.int64)
    return bitstream.write_bitstream(_header(model, stream, sample_rate, num_samples,
                                             all_codes.shape[1]), all_codes)


def _encoder(model: RuntimeModel, num_codebooks: int) -> EncoderStream:
    stream = EncoderStream(model, num_codebooks)
    stream.prepare(num_codebooks)
    return stream


def _header(model: RuntimeModel, stream: EncoderStream, sample_rate: int, num_samples: int,
            frames: int) -> bitstream.Header:
    return bitstream.Header(model.model_id, sample_rate, num_samples, stream.num_codebooks,
                            model.config.codebook_bits, frames, model.config.sample_rate,
                            model.hop)


def code_blocks(stream: EncoderStream, blocks: Iterator[np.ndarray],
                progress: Progress | None = None) -> Iterator[np.ndarray]:
    """Codes ``[K, frames]`` of float blocks at the model's rate, block by block (clipped to
    [-1, 1]); the last partial frame zero-padded. ``progress`` is told each block's samples
    once they are encoded."""
    def counted(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            yield block
            if progress:
                progress(len(block))

    for frames in whole_frames(counted(blocks), stream.model.hop):
        yield stream.push(np.clip(frames, -1, 1))


def encode_audio_to(out: BinaryIO, model: RuntimeModel, f, num_codebooks: int,
                    progress: Progress | None = None) -> bitstream.Header:
    """An open audio file, read in blocks, encoded into ``out`` (a seekable binary file) in
    blocks: memory does not grow with the input, whose length is counted as it is read (a
    pipe's header may not know it)."""
    rate = model.config.sample_rate
    counted = _Counted(mono_blocks(f, BLOCK_SECONDS))
    blocks = _trimmed(resample_blocks(counted, f.samplerate, rate),
                      lambda: bitstream.output_samples_for(counted.n, f.samplerate, rate))
    stream = _encoder(model, num_codebooks)
    return bitstream.write_bitstream_to(
        out, code_blocks(stream, blocks, progress),
        lambda frames: _header(model, stream, f.samplerate, counted.n, frames))


class _Counted:
    """Blocks passed through, their samples counted in ``n``."""

    def __init__(self, blocks: Iterator[np.ndarray]):
        self.blocks, self.n = blocks, 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for b in self.blocks:
            self.n += len(b)
            yield b


def _trimmed(blocks: Iterator[np.ndarray], length: Callable[[], int]) -> Iterator[np.ndarray]:
    """``exact_length`` for a stream whose length is known only at its end: one block is held
    back, and the total is cut or zero-padded to ``length()``."""
    done, held = 0, None
    for b in blocks:
        if held is not None:
            yield held
            done += len(held)
        held = b
    yield from exact_length(iter([] if held is None else [held]), length() - done)


def decode_blocks(model: RuntimeModel, data: "bytes | BitstreamInput",
                  frames_per_block: int = 250) -> tuple[bitstream.Header, Iterator[np.ndarray]]:
    """Bitstream bytes (or an input from ``open_bitstream``) -> (header, iterator of float32
    blocks in [-1, 1] at the model's rate).

    The whole file is verified (magic, version, model id, sizes, CRC) before any audio comes
    out, so a bad file yields ``FormatError`` and never partial audio. An input from
    ``open_bitstream`` was verified as it was opened; its codes are read a block at a time.
    """
    if isinstance(data, BitstreamInput):
        header, codes = data.header, data.codes
    else:
        header, all_codes = bitstream.read_bitstream(data, model.config.sample_rate, model.hop,
                                                     expected_model_id=model.model_id)
        codes = lambda start, n: all_codes[:, start: start + n]  # noqa: E731
    stream = DecoderStream(model)
    stream.prepare()  # sessions now: before the caller opens its output

    def blocks() -> Iterator[np.ndarray]:
        left = header.output_samples
        for start in range(0, header.num_frames, frames_per_block):
            n = min(frames_per_block, header.num_frames - start)
            wav = stream.push(codes(start, n))[:left]
            left -= len(wav)
            yield np.clip(wav, -1.0, 1.0)
        if left > 0:  # a kind with a synthesis delay: the overlap-add tail completes the file
            yield np.clip(stream.finish()[:left], -1.0, 1.0)
    return header, blocks()


@dataclass(frozen=True)
class BitstreamInput:
    """A ``.cdc`` input verified by ``open_bitstream`` (header, size, CRC, model): its codes
    are read from ``file`` (seekable; the file starts at ``offset``) a block at a time."""
    header: bitstream.Header
    file: BinaryIO | None
    offset: int = 0

    def codes(self, start: int, count: int) -> np.ndarray:
        return bitstream.read_codes(self.file, self.header, start, count, self.offset)

    def read(self) -> bytes:
        """The whole file's bytes."""
        self.file.seek(self.offset)
        return bitstream.read_up_to(self.file, self.header.file_size)


@contextmanager
def open_bitstream(src, model: RuntimeModel | None = None, codes: bool = True,
                   config_only: bool = False
                   ) -> Iterator[tuple[RuntimeModel | CodecConfig, BitstreamInput]]:
    """``(model, input)`` of a ``.cdc`` file (``-``: stdin), verified before anything else is
    done with it, in bounded memory whatever the input: the header is read first (a file that
    is not a bitstream is refused from its first bytes), a regular file's size is checked
    against it before the rest is read, and the rest is read in blocks for the CRC (a pipe's
    kept in a temporary file when ``codes`` are wanted, and refused once past the size its
    header gives). Without ``model``, the model the file names (its config with
    ``config_only``). ``FormatError``s name the input."""
    model = check_model(model, optional=True)
    with ExitStack() as stack:
        f, regular = open_binary(src, FormatError)
        if src != "-":
            stack.callback(f.close)
        offset = f.tell() if regular else 0
        head = bitstream.read_up_to(f, bitstream.HEADER_SIZE)
        check_not_empty(bool(head), src, FormatError)
        with naming(src):
            found, verified = _verified(head, f, offset, regular, model, codes, config_only,
                                        stack)
        yield found, verified


def _verified(head: bytes, f, offset: int, regular: bool, model, codes: bool,
              config_only: bool, stack: ExitStack):
    """``(model or config, BitstreamInput)`` of an open ``.cdc`` input whose first bytes,
    ``head``, were read: see ``open_bitstream``."""
    head = bitstream.read_head(head)
    found = model or _by_head(head, f, regular, config_for_id if config_only else model_for_id)
    config = found if isinstance(found, CodecConfig) else found.config
    header = bitstream.read_header(head, config.sample_rate, config.hop)
    if regular:
        bitstream.check_size(os.fstat(f.fileno()).st_size - offset, header.file_size)
    sink = None
    if codes and not regular:  # a pipe: kept on disk, not in memory
        sink = stack.enter_context(tempfile.TemporaryFile())
        sink.write(head)
    bitstream.verify_rest(f, head, header.file_size, sink)
    if model is not None and header.model_id != model.model_id:
        raise FormatError(f"encoded by another model (id {header.model_id.hex()}, "
                          f"this model is {model.model_id.hex()})")
    kept = sink or (f if codes else None)
    return found, BitstreamInput(header, kept, 0 if sink else offset)


def _by_head(head: bytes, f, regular: bool, lookup: Callable):
    """``lookup(model id)`` of a header; an unknown id in a damaged file (a flipped bit in the
    id) reports the damage, not the id (as ``_by_file_id``)."""
    try:
        return lookup(bitstream.read_model_id(head))
    except FormatError:
        expected = bitstream.integrity_size(head)
        if regular:
            bitstream.check_size(os.fstat(f.fileno()).st_size - f.tell() + len(head), expected)
        bitstream.verify_rest(f, head, expected)
        raise


def _mono(wav: np.ndarray) -> np.ndarray:
    if wav.ndim == 2:  # [samples, channels], as soundfile returns
        wav = wav.mean(axis=1, dtype=np.float32)
    return wav


def codebooks_for(model: RuntimeModel, bitrate) -> int:
    """The number of codebooks for one of the model's bitrates (``ArgumentError`` otherwise)."""
    return model.config.codebooks_for(check_bitrate(bitrate, model.config))


def compress(wav: np.ndarray, sample_rate: int, bitrate: float = 6.0,
             model: RuntimeModel | None = None) -> bytes:
    """Encode a signal (1-D, or [samples, channels]; float in [-1, 1] or int16) to bytes.

    Every argument is checked first (``AudioInputError`` / ``ArgumentError``, both
    ``ValueError``s): ``sample_rate`` a whole number from 1,000 to 384,000 Hz, ``bitrate`` one
    of the model's (1.5, 3, 6 or 9 kbps for the shipped one).
    """
    rate = check_sample_rate(sample_rate, "sample_rate", AudioInputError)
    model = runtime_model(model)
    k = codebooks_for(model, bitrate)
    signal = to_float32(check_signal(wav))
    check = ClipCheck()
    check.push(signal)
    mono = _mono(signal)
    blocks = resample_blocks(in_blocks(mono, int(BLOCK_SECONDS * rate)), rate,
                             model.config.sample_rate)
    data = encode_blocks(model, blocks, rate, len(mono), k)
    check.warn("wav", stacklevel=2)
    return data


def decompress(data: bytes, model: RuntimeModel | None = None, rate: int | str | None = None
               ) -> tuple[np.ndarray, int]:
    """Bytes from ``compress`` -> (float32 1-D signal in [-1, 1], its rate).

    ``rate``: the model's rate when None; a number of Hz (1,000 to 384,000) resamples the
    output (libsoxr), ``"original"`` to the rate the input had (exactly its length). Without
    ``model``, the model the file names: the shipped one or an earlier one kept in the package
    (``FormatError`` naming the model id when there is none).
    """
    data = check_bytes(data)
    model = check_model(model, optional=True)
    rate = _check_rate(rate)
    model = model or model_for_file(data)
    header, blocks = decode_blocks(model, data)
    out_rate = _output_rate(rate, header, "data")
    out = list(_at_rate(blocks, header, out_rate))
    wav = np.concatenate(out) if out else np.zeros(0, np.float32)
    return wav.astype(np.float32, copy=False), out_rate


def _check_rate(rate):
    """An output rate: None, ``"original"`` or a whole number of Hz (``ArgumentError``)."""
    return rate if rate is None or rate == "original" else check_sample_rate(rate, "rate")


def _output_rate(rate, header: bitstream.Header, what: str) -> int:
    """The output's rate for ``rate`` (None: the model's; ``"original"``: the input's)."""
    if rate is None:
        return header.codec_rate
    if rate != "original":
        return rate
    if not MIN_RATE <= header.sample_rate <= MAX_RATE:
        raise FormatError(f"{what} was encoded from {header.sample_rate} Hz, outside "
                          f"{MIN_RATE}-{MAX_RATE} Hz: choose an output rate with --rate N")
    return header.sample_rate


def _at_rate(blocks: Iterator[np.ndarray], header: bitstream.Header, out_rate: int
             ) -> Iterator[np.ndarray]:
    """Decoded blocks resampled to ``out_rate``: at the input's rate exactly the input's
    length, at another the rounded one."""
    codec_rate = header.codec_rate
    if out_rate == codec_rate:
        return blocks
    m = header.output_samples
    n = header.num_samples if out_rate == header.sample_rate else \
        (2 * m * out_rate + codec_rate) // (2 * codec_rate)  # round(m * out_rate / codec_rate), half up
    return exact_length(resample_blocks(blocks, codec_rate, out_rate), n)


def encode_file(src: str | Path, dst: str | Path, bitrate: float = 6.0, force: bool = False,
                model: RuntimeModel | None = None, on_open: Callable | None = None,
                progress: Progress | None = None, raw: RawPCM | None = None) -> EncodeResult:
    """Encode any audio file soundfile reads (``-`` = stdin), or headerless samples that
    ``raw`` describes, into a bitstream file (``-`` = stdout).

    The bitrate and the output are checked before the input is read (see ``audio.Output``).
    ``on_open(info)`` is called once the input is open (the CLI uses it for notes and a
    progress bar); ``progress(n)`` after each block. Pipes are read as they come, in blocks:
    memory does not depend on the input's length or on where it comes from.
    """
    model = runtime_model(model)
    k = codebooks_for(model, bitrate)
    output = Output(dst, force, inputs=[src])
    check_bitstream_name(dst)
    check = ClipCheck()
    with open_audio(src, raw) as f:
        if on_open:
            on_open(f)
        with output.open() as out:
            header = encode_audio_to(out, model, CheckedFile(f, check), k, progress)
    check.warn(_shown(src), stacklevel=2)
    return EncodeResult(header, header.file_size)


def check_bitstream_name(dst) -> None:
    """A bitstream is not audio: refuse ``x.wav`` (and other audio names) as its file name."""
    ext = Path(str(dst)).suffix.lower()
    if str(dst) != "-" and ext in AUDIO_EXTENSIONS:
        raise ArgumentError(f"cannot write {dst}: the bitstream is not {ext} audio; name it "
                            f"{Path(str(dst)).stem}.cdc")


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif",
                    ".aiff", ".au", ".w64", ".caf")


def read_input_bytes(src: str | Path, model: RuntimeModel | None = None) -> bytes:
    """All of a verified bitstream file (``-`` = stdin): see ``open_bitstream``."""
    with open_bitstream(src, model, config_only=True) as (_, found):
        return found.read()


def decode_file(src: str | Path, dst: str | Path, rate: int | str | None = None,
                force: bool = False, model: RuntimeModel | None = None,
                progress: Progress | None = None, on_open: Callable | None = None
                ) -> bitstream.Header:
    """Decode a bitstream file to 16-bit audio: WAV, or FLAC/OGG by ``dst``'s extension.

    ``rate``: a number of Hz (1,000 to 384,000) or ``"original"`` resamples. ``on_open(header)``
    is called once the file is verified; ``progress(n)`` with each block's output samples.
    Without ``model``, the model the file names (see ``decompress``).
    """
    model = check_model(model, optional=True)
    rate = _check_rate(rate)
    output = Output(dst, force, inputs=[src])
    fmt = audio_format_for(dst)
    with open_bitstream(src, model) as (model, found):
        with naming(src):
            header, blocks = decode_blocks(model, found)
        out_rate = _output_rate(rate, header, _shown(src))
        if on_open:
            on_open(header)
        blocks = _at_rate(blocks, header, out_rate)
        if progress:
            blocks = _tap(blocks, progress)
        with output.open() as f:
            write_audio_blocks(f, blocks, out_rate, fmt)
    return header


def _shown(src) -> str:
    return "stdin" if str(src) == "-" else str(src)


def _tap(blocks: Iterator[np.ndarray], progress: Progress) -> Iterator[np.ndarray]:
    for b in blocks:
        progress(len(b))
        yield b


def transcode(data: bytes, bitrate: float, model: RuntimeModel | None = None) -> bytes:
    """A ``.cdc`` file cut to a lower bitrate without decoding: the codes are stored coarse
    first, so the file's first codebooks are the lower bitrate's (the same bytes when the
    bitrate is the file's). ``ArgumentError`` for a bitrate above the file's: that needs
    the audio encoded again. Without ``model``, the model the file names (its config only)."""
    data = check_bytes(data)
    model = check_model(model, optional=True)
    config = model.config if model else config_for_file(data)
    header, codes = bitstream.read_bitstream(data, config.sample_rate, config.hop,
                                             expected_model_id=model and model.model_id)
    k = config.codebooks_for(check_bitrate(bitrate, config))
    if k > header.num_codebooks:
        raise ArgumentError(f"cannot raise a {header.nominal_kbps:g} kbps file to {bitrate:g} "
                            "kbps: transcode only drops codebooks (encode the audio again)")
    if k == header.num_codebooks:
        return data
    return bitstream.write_bitstream(replace(header, num_codebooks=k), codes[:k])


def transcode_file(src: str | Path, dst: str | Path, bitrate: float, force: bool = False,
                   model: RuntimeModel | None = None) -> None:
    """``transcode`` from file to file (``-``: stdin, stdout), written atomically."""
    output = Output(dst, force, inputs=[src])
    check_bitstream_name(dst)
    data = read_input_bytes(src, model)
    with naming(src):
        data = transcode(data, bitrate, model)
    with output.open() as f:
        f.write(data)
