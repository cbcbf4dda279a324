"""Peer codecs to compare against, each behind one tiny interface.

A peer has ``name`` (for tables), ``kbps`` (nominal bitrate), ``roundtrip(wav)`` (wideband float32
mono in, decoded wideband float32 out, same length as the input: zero-padded or trimmed) and the
classmethod ``is_available()``. After each ``roundtrip`` the attribute ``last_payload_bytes`` holds
the bytes of compressed payload it produced (codec packets only, no container), for true bitrates.

* :class:`OpusPeer`: ``opusenc --hard-cbr --framesize 20`` / ``opusdec --rate SAMPLE_RATE`` (opus-tools),
  through pipes. opusdec drops Opus's pre-skip and trims to the input length from the Ogg granule
  position, so no delay compensation is needed: measured on a LibriSpeech eval file, the
  cross-correlation lag between input and output is within +-1 sample at 6 and 12 kbps.
* :class:`LyraPeer`: Lyra v2 TFLite models (encoder -> quantizer -> LyraGAN) run frame by frame
  with ``ai_edge_litert``, fresh interpreters for every stream, as described in the models'
  README. ``encode_frame`` / ``decode_packet`` expose the per-frame steps for timing.
* :class:`Codec2Peer`: ``c2enc`` / ``c2dec`` (Codec 2 at 3200 bit/s), 8 kHz: resampled down and up.
  Its output lags the input by about 155 samples at 8 kHz (STOI peaks for shifts of 290-330
  samples at SAMPLE_RATE on four eval files), which is compensated.
* :class:`AMRWBPeer`: AMR-WB (3GPP's wideband phone codec, the one in VoLTE / HD Voice calls)
  through ``ffmpeg``: VisualOn's ``libvo_amrwbenc`` encoder (Debian's ``libavcodec-extra``) into the
  AMR storage format (RFC 4867 section 5), ffmpeg's own decoder back to wideband, DTX off. The
  output lags the input by 95 samples (5.9 ms): the cross-correlation peak measured on four eval
  files at 6.6 and 12.65 kbps was at 94-95 samples every time (correlation 0.81-0.93), which is
  compensated.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchaudio

from ..runtime.audio import from_int16, to_int16
from .metrics import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # Lyra's 20 ms frame

LYRA_ENV = "CODEC_LYRA_DIR"
REPO = Path(__file__).resolve().parents[2]  # the clone; Lyra's models are in its sibling shared/
LYRA_IN_SHARED = Path("shared/peers/lyra")  # (the development machine's; elsewhere $CODEC_LYRA_DIR)
LYRA_FILES = ("soundstream_encoder.tflite", "quantizer.tflite", "lyragan.tflite")
LYRA_QUANTIZERS = {3.2: 16, 6: 30, 9.2: 46}  # 4 bits each: 8, 15, 23 bytes per 20 ms packet
LYRA_MAX_QUANTIZERS = 46


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` as float32, zero-padded or trimmed to ``n`` samples."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)[:n]
    return np.pad(y, (0, n - len(y))) if len(y) < n else y


def _resample(wav: np.ndarray, src: int, dst: int) -> np.ndarray:
    x = torch.from_numpy(np.asarray(wav, dtype=np.float32))
    return torchaudio.functional.resample(x, src, dst).numpy()


def _ogg_packets(data: bytes) -> list[bytes]:
    """Split an Ogg bitstream (one logical stream) into its packets."""
    packets, current, pos = [], b"", 0
    while pos + 27 <= len(data):
        if data[pos:pos + 4] != b"OggS":
            raise ValueError("not an Ogg page")
        nseg = data[pos + 26]
        lacing = data[pos + 27:pos + 27 + nseg]
        body = pos + 27 + nseg
        for size in lacing:
            current += data[body:body + size]
            body += size
            if size < 255:
                packets.append(current)
                current = b""
        pos = body
    return packets


class OpusPeer:
    """Opus (libopus through opus-tools) at a hard constant bitrate with 20 ms frames."""

    def __init__(self, kbps: float):
        self.kbps = kbps
        self.name = "Opus"
        self.last_payload_bytes = 0

    @classmethod
    def is_available(cls) -> bool:
        return shutil.which("opusenc") is not None and shutil.which("opusdec") is not None

    def encode(self, wav: np.ndarray) -> bytes:
        """Wideband float audio -> Ogg Opus bytes."""
        cmd = ["opusenc", "--quiet", "--hard-cbr", "--framesize", "20", "--bitrate", f"{self.kbps:g}",
               "--raw", "--raw-rate", str(SAMPLE_RATE), "--raw-chan", "1", "-", "-"]
        pcm = to_int16(wav).astype("<i2").tobytes()
        return subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout

    @staticmethod
    def decode(ogg: bytes, packet_loss: float = 0.0) -> np.ndarray:
        """Ogg Opus bytes -> wideband float32 audio (pre-skip removed by opusdec).
        ``packet_loss``: the fraction of packets opusdec drops at random and conceals."""
        cmd = ["opusdec", "--quiet", "--rate", str(SAMPLE_RATE), "--float", "--no-dither",
               *(["--packet-loss", f"{100 * packet_loss:g}"] if packet_loss else []), "-", "-"]
        out = subprocess.run(cmd, input=ogg, capture_output=True, check=True).stdout
        return np.frombuffer(out, dtype="<f4").copy()

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        ogg = self.encode(wav)
        # The first two packets are the OpusHead and OpusTags headers.
        self.last_payload_bytes = sum(len(p) for p in _ogg_packets(ogg)[2:])
        return fit_length(self.decode(ogg), len(wav))


def lyra_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    """The Lyra model folder: the argument, else $CODEC_LYRA_DIR, else ../shared/peers/lyra
    beside the clone."""
    return Path(model_dir or os.environ.get(LYRA_ENV) or REPO.parent / LYRA_IN_SHARED)


def lyra_missing_note() -> str:
    """Why Lyra v2 cannot run here, and what to do, in one line."""
    folder = lyra_model_dir()
    missing = [f for f in LYRA_FILES if not (folder / f).is_file()]
    why = []
    if importlib.util.find_spec("ai_edge_litert") is None:
        why.append("ai-edge-litert is not installed (pip install -e '.[peers]')")
    if missing:
        why.append(f"its models are not in {folder} ({', '.join(missing)}; set ${LYRA_ENV} "
                   "to their folder)")
    return "Lyra v2 skipped: " + "; ".join(why)


class LyraPeer:
    """Google's Lyra v2 (TFLite models), frame by frame as its C++ library chains them."""

    def __init__(self, kbps: float, model_dir: str | os.PathLike | None = None):
        if kbps not in LYRA_QUANTIZERS:
            raise ValueError(f"Lyra v2 runs at {sorted(LYRA_QUANTIZERS)} kbps, not {kbps}")
        self.kbps = kbps
        self.name = "Lyra v2"
        self.num_quantizers = LYRA_QUANTIZERS[kbps]
        self.model_dir = lyra_model_dir(model_dir)
        self.last_payload_bytes = 0
        self.reset()

    @classmethod
    def is_available(cls, model_dir: str | os.PathLike | None = None) -> bool:
        if importlib.util.find_spec("ai_edge_litert") is None:
            return False
        folder = lyra_model_dir(model_dir)
        return all((folder / f).is_file() for f in LYRA_FILES)

    def _interpreter(self, filename: str, xnnpack: bool):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kwargs = {} if xnnpack else {
            "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
        interp = Interpreter(model_path=str(self.model_dir / filename), num_threads=1, **kwargs)
        interp.allocate_tensors()
        return interp

    def reset(self) -> None:
        """Fresh interpreters: the encoder and LyraGAN keep state, so one set per stream."""
        self._encoder = self._interpreter("soundstream_encoder.tflite", xnnpack=True)
        quantizer = self._interpreter("quantizer.tflite", xnnpack=False)
        self._quantize = quantizer.get_signature_runner("encode")
        self._dequantize = quantizer.get_signature_runner("decode")
        self._decoder = self._interpreter("lyragan.tflite", xnnpack=True)
        self._enc_in = self._encoder.get_input_details()[0]["index"]
        self._enc_out = self._encoder.get_output_details()[0]["index"]
        self._dec_in = self._decoder.get_input_details()[0]["index"]
        self._dec_out = self._decoder.get_output_details()[0]["index"]

    def encode_frame(self, frame: np.ndarray) -> bytes:
        """``FRAME`` int16 samples -> one packet (num_quantizers 4-bit indices, first in the high bits)."""
        x = from_int16(np.asarray(frame, dtype=np.int16)).reshape(1, FRAME)
        self._encoder.set_tensor(self._enc_in, x)
        self._encoder.invoke()
        features = self._encoder.get_tensor(self._enc_out)
        out = self._quantize(input_frames=features, num_quantizers=np.array(self.num_quantizers, np.int32))
        indices = out["output_0"].reshape(-1)[: self.num_quantizers].astype(np.uint8)
        if len(indices) % 2:
            indices = np.append(indices, 0)  # pad the last byte's low nibble with zeros
        return bytes((indices[0::2] << 4) | indices[1::2])

    def decode_packet(self, packet: bytes) -> np.ndarray:
        """One packet -> ``FRAME`` int16 samples."""
        nibbles = np.frombuffer(packet, dtype=np.uint8)
        nibbles = np.stack([nibbles >> 4, nibbles & 15], axis=1).reshape(-1)[: self.num_quantizers]
        indices = np.full((LYRA_MAX_QUANTIZERS, 1, 1), -1, dtype=np.int32)
        indices[: len(nibbles), 0, 0] = nibbles
        features = self._dequantize(encoding_indices=indices)["output_0"]
        self._decoder.set_tensor(self._dec_in, features.astype(np.float32))
        self._decoder.invoke()
        y = self._decoder.get_tensor(self._dec_out).reshape(-1)
        return to_int16(y)

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        """Encode then decode a whole signal with fresh state. The encoder drops a trailing
        partial frame, so the output's tail is zero-padded to the input length."""
        self.reset()
        pcm = to_int16(wav)
        out, nbytes = [], 0
        for start in range(0, len(pcm) - FRAME + 1, FRAME):
            packet = self.encode_frame(pcm[start:start + FRAME])
            nbytes += len(packet)
            out.append(self.decode_packet(packet))
        self.last_payload_bytes = nbytes
        y = from_int16(np.concatenate(out)) if out else np.zeros(0, np.float32)
        return fit_length(y, len(wav))


class Codec2Peer:
    """Codec 2 through its ``c2enc``/``c2dec`` command-line tools, at 8 kHz."""

    RATE = 8000
    DELAY = 155  # samples at 8 kHz, measured (see the module docstring)

    def __init__(self, bps: int = 3200):
        self.mode = str(bps)
        self.kbps = bps / 1000
        self.name = "Codec 2"
        self.last_payload_bytes = 0

    @classmethod
    def is_available(cls) -> bool:
        return shutil.which("c2enc") is not None and shutil.which("c2dec") is not None

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        pcm = to_int16(np.pad(_resample(wav, SAMPLE_RATE, self.RATE), (0, self.DELAY)))
        with tempfile.TemporaryDirectory(prefix="codec2-") as tmp:
            raw, bits, dec = (os.path.join(tmp, f) for f in ("in.raw", "out.bit", "out.raw"))
            pcm.astype("<i2").tofile(raw)
            subprocess.run(["c2enc", self.mode, raw, bits], check=True, capture_output=True)
            subprocess.run(["c2dec", self.mode, bits, dec], check=True, capture_output=True)
            self.last_payload_bytes = os.path.getsize(bits)
            y = from_int16(np.fromfile(dec, dtype="<i2")[self.DELAY:])
        return fit_length(_resample(y, self.RATE, SAMPLE_RATE), len(wav))


class AMRWBPeer:
    """AMR-WB through ffmpeg (``libvo_amrwbenc`` to encode, ffmpeg's native decoder).

    ``last_payload_bytes`` counts the speech frames' bytes only: the AMR-WB storage file is a
    9-byte magic ``#!AMR-WB\\n`` then, per 20 ms frame, one table-of-contents byte and the frame's
    bits padded to whole bytes (17 bytes at 6.6 kbps: 132 bits + 4 padding bits). The magic and
    the TOC bytes are not counted (like Ogg around Opus), the padding is, so 6.6 kbps measures
    6.8 and 12.65 measures 12.8.
    """

    MODES = (6.6, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85)
    MAGIC = b"#!AMR-WB\n"
    # Frame bytes after the TOC byte for frame types 0-8 (the nine modes) and 9 (SID); 14 (lost)
    # and 15 (no data) carry none. RFC 4867, section 5.3 and table 1b of 3GPP TS 26.201.
    FRAME_BYTES = {0: 17, 1: 23, 2: 32, 3: 36, 4: 40, 5: 46, 6: 50, 7: 58, 8: 60, 9: 5, 14: 0, 15: 0}
    DELAY = 95  # samples at SAMPLE_RATE, measured (see the module docstring)

    def __init__(self, kbps: float = 6.6):
        if kbps not in self.MODES:
            raise ValueError(f"AMR-WB runs at {self.MODES} kbps, not {kbps}")
        self.kbps = kbps
        self.name = "AMR-WB"
        self.last_payload_bytes = 0

    @classmethod
    def is_available(cls) -> bool:
        if shutil.which("ffmpeg") is None:
            return False
        encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True,
                                  text=True).stdout
        return "libvo_amrwbenc" in encoders

    def encode(self, wav: np.ndarray) -> bytes:
        """Wideband float audio -> AMR-WB storage-format bytes."""
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
               "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
               "-c:a", "libvo_amrwbenc", "-b:a", str(round(self.kbps * 1000)), "-dtx", "0",
               "-f", "amr", "pipe:1"]
        pcm = to_int16(wav).astype("<i2").tobytes()
        return subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout

    @staticmethod
    def decode(amr: bytes) -> np.ndarray:
        """AMR-WB storage-format bytes -> wideband float32 audio."""
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "amr",
               "-i", "pipe:0", "-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "pipe:1"]
        out = subprocess.run(cmd, input=amr, capture_output=True, check=True).stdout
        return np.frombuffer(out, dtype="<f4").copy()

    @classmethod
    def frame_payload_bytes(cls, amr: bytes) -> tuple[int, int]:
        """(frames, speech bytes) of a storage-format file: TOC bytes and the magic excluded."""
        if not amr.startswith(cls.MAGIC):
            raise ValueError("not an AMR-WB storage file")
        pos, frames, payload = len(cls.MAGIC), 0, 0
        while pos < len(amr):
            frame_type = (amr[pos] >> 3) & 15
            if frame_type not in cls.FRAME_BYTES:
                raise ValueError(f"AMR-WB frame type {frame_type} is reserved")
            size = cls.FRAME_BYTES[frame_type]
            frames, payload, pos = frames + 1, payload + size, pos + 1 + size
        if pos != len(amr):
            raise ValueError("truncated AMR-WB frame")
        return frames, payload

    def roundtrip(self, wav: np.ndarray) -> np.ndarray:
        """Encode then decode; the input is padded by the codec's delay, which is then dropped
        from the output's start, so output sample t reconstructs input sample t."""
        amr = self.encode(np.pad(np.asarray(wav, dtype=np.float32), (0, self.DELAY)))
        self.last_payload_bytes = self.frame_payload_bytes(amr)[1]
        return fit_length(self.decode(amr)[self.DELAY:], len(wav))


def evaluation_peers(lyra: bool = True, codec2: bool = True,
                     amrwb: bool = True) -> tuple[list, list[str]]:
    """The peers of the evaluation table that can run here, and a note for each one skipped:
    Opus at 6/8/12 kbps, Lyra v2 at 3.2/6/9.2 kbps, Codec 2 at 3.2 kbps, AMR-WB at
    6.6/8.85/12.65 kbps."""
    peers, notes = [], []
    if OpusPeer.is_available():
        peers += [OpusPeer(k) for k in (6, 8, 12)]
    else:
        notes.append("Opus skipped: opusenc/opusdec not installed (Debian package opus-tools)")
    if lyra:
        if LyraPeer.is_available():
            peers += [LyraPeer(k) for k in (3.2, 6, 9.2)]
        else:
            notes.append(lyra_missing_note())
    if codec2:
        if Codec2Peer.is_available():
            peers.append(Codec2Peer(3200))
        else:
            notes.append("Codec 2 skipped: c2enc/c2dec not installed (Debian package codec2)")
    if amrwb:
        if AMRWBPeer.is_available():
            peers += [AMRWBPeer(k) for k in (6.6, 8.85, 12.65)]
        else:
            notes.append("AMR-WB skipped: ffmpeg without libvo_amrwbenc (Debian packages ffmpeg "
                         "and libavcodec-extra)")
    return peers, notes
