"""Sending a live stream: one UDP packet per frame (packet layout in docs/PROTOCOL.md).

A stream is START (sent three times: before each of the first three audio packets), one AUDIO
packet per frame, then END three times (one frame apart when pacing). With pacing, frame ``i``
is encoded and sent at ``t0 + i * frame`` (``frame = hop / sample_rate`` of the model, 20 ms
for the shipped one) on a monotonic clock (``t0``: when frame 0 was ready),
as a live source would; without it, as fast as the encoder goes. ``loss`` drops a random
fraction of the AUDIO packets (never START or END) with a seeded RNG, to simulate a network.
"""

from __future__ import annotations

import random
import secrets
import socket
import time
from contextlib import closing
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import ArgumentError, check_int, check_sample_rate
from ..formats.bitstream import output_samples_for
from ..formats.packet import AudioPacket, EndPacket, StartPacket, encode_packet, model_tag_of
from ..runtime.audio import RawPCM, exact_length, open_audio, read_blocks, whole_frames
from ..runtime.signals import STOPS
from ..runtime.streaming import StreamEncoder, runtime_model
from . import format_address

REPEATS = 3  # START and END are each sent this many times
IP_UDP_HEADER = {socket.AF_INET: 28, socket.AF_INET6: 48}  # bytes per datagram


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6addr]:PORT`` for IPv6) -> ``(host, port)``."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


@dataclass
class SendStats:
    stream_id: int
    frame_s: float         # seconds per frame (the model's hop / sample rate)
    frames: int = 0        # audio frames encoded
    sent: int = 0          # audio packets sent
    dropped: int = 0       # audio packets dropped by the loss simulation
    samples: int = 0       # samples streamed at the model's rate (END's total)
    bytes: int = 0         # datagram bytes sent, all packets
    audio_bytes: int = 0   # datagram bytes of the audio packets sent
    payload_bits: int = 0  # codec payload bits of the audio packets sent
    capture_start: float | None = None  # monotonic time frame 0's first sample was captured
    seconds: float = 0.0   # from the first packet to the last
    interrupted: BaseException | None = None  # Ctrl-C's or SIGTERM's exception (END was still sent)
    refused: int = 0       # ICMP port-unreachable reports: nothing listened on the port then

    control: int = 0       # START and END packets sent
    ip_header: int = IP_UDP_HEADER[socket.AF_INET]  # bytes of IP and UDP header per datagram

    @property
    def audio_kbps(self) -> float:
        """Audio packets with their headers, per packet sent (what ``codec receive`` reports)."""
        return self.audio_bytes * 8 / (self.sent * self.frame_s * 1000) if self.sent else 0.0

    @property
    def network_kbps(self) -> float:
        """The same with IP and UDP headers: the bandwidth the stream takes on the network."""
        bits = (self.audio_bytes + self.sent * self.ip_header) * 8
        return bits / (self.sent * self.frame_s * 1000) if self.sent else 0.0

    @property
    def control_bytes(self) -> int:
        """Bytes of the START and END packets (once per stream, not per second)."""
        return self.bytes - self.audio_bytes

    @property
    def payload_kbps(self) -> float:
        """The codec payload alone (the nominal bitrate)."""
        return self.payload_bits / (self.sent * self.frame_s * 1000) if self.sent else 0.0


class Sender:
    """Encodes frames with a ``StreamEncoder`` and sends one UDP datagram per frame to ``dest``.

    ``bitrate`` (kbps) may be changed between frames. Use ``stream(blocks)`` for a whole
    signal, or ``send_frame`` for each frame and ``finish`` at the end.
    """

    def __init__(self, model, dest: tuple[str, int], bitrate: float = 6.0, loss: float = 0.0,
                 seed: int | None = None, pace: bool = True, stream_id: int | None = None):
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be a fraction from 0 to 1, got {loss:g}")
        model = runtime_model(model)
        self.encoder = StreamEncoder(model, bitrate)
        self.loss, self.pace = loss, pace
        self.bits, self.hop = model.config.codebook_bits, model.hop
        self.frame_s = model.hop / model.config.sample_rate
        self.tag = model_tag_of(model.model_id)
        self.stream_id = secrets.randbits(32) if stream_id is None else stream_id
        self._rng = random.Random(seed)
        try:
            found = socket.getaddrinfo(dest[0], dest[1], type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise ArgumentError(f"cannot send to {dest[0]}:{dest[1]}: host {dest[0]!r} not "
                                f"found ({e.strerror})") from None
        ipv4 = [a for a in found if a[0] == socket.AF_INET]  # "localhost" may list ::1 first
        family, _, _, _, self.dest = (ipv4 or found)[0]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.stats = SendStats(self.stream_id, self.frame_s,
                               ip_header=IP_UDP_HEADER[family])
        try:  # connected: the kernel reports ICMP port unreachable (SendStats.refused)
            self.sock.connect(self.dest)
        except OSError as e:
            self.sock.close()
            raise self._error(e) from None
        self._start = encode_packet(StartPacket(self.stream_id, model.model_id, 0,
                                                model.config.sample_rate, self.hop, self.bits))
        self._starts_left = REPEATS
        self._t0: float | None = None
        self._first_sent: float | None = None

    @property
    def bitrate(self) -> float:
        return self.encoder.bitrate

    @bitrate.setter
    def bitrate(self, kbps: float) -> None:
        self.encoder.bitrate = kbps

    def close(self) -> None:
        self.sock.close()

    def _error(self, e: OSError) -> OSError:
        return OSError(e.errno, f"cannot send to {format_address(self.dest)}: {e.strerror or e}")

    def _send(self, data: bytes, count_refusal: bool = True) -> None:
        for _ in range(2):  # a send that reports an earlier datagram's ICMP error sent nothing
            try:
                self.sock.send(data)
                break
            except ConnectionRefusedError:  # port unreachable: nothing listened (then)
                self.stats.refused += int(count_refusal)
            except OSError as e:
                raise self._error(e) from None
        self.stats.bytes += len(data)
        if self._first_sent is None:
            self._first_sent = time.monotonic()
        self.stats.seconds = time.monotonic() - self._first_sent

    def send_frame(self, frame: np.ndarray) -> None:
        """Encode one frame (``hop`` samples, float in [-1, 1] or int16) and send it; with
        pacing, not before its time."""
        seq = self.stats.frames
        if self._t0 is None:
            self._t0 = time.monotonic()
            self.stats.capture_start = self._t0 - self.frame_s
        elif self.pace:
            delay = self._t0 + seq * self.frame_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        codes = self.encoder.encode_codes(frame)
        if self._starts_left:
            self._send_start()
        self.stats.frames += 1
        if self.loss and self._rng.random() < self.loss:
            self.stats.dropped += 1
            return
        pkt = AudioPacket.from_codes(self.stream_id, self.tag, seq % (1 << 32), codes, self.bits,
                                     seq * self.hop)
        data = encode_packet(pkt, self.bits)
        self._send(data)
        self.stats.sent += 1
        self.stats.audio_bytes += len(data)
        self.stats.payload_bits += len(codes) * self.bits

    def finish(self) -> SendStats:
        """Send the START repeats still due, then END three times."""
        while self._starts_left:
            self._send_start()
        end = encode_packet(EndPacket(self.stream_id, self.tag, self.stats.frames % (1 << 32),
                                      self.stats.samples))
        for i in range(REPEATS):
            if i and self.pace:
                time.sleep(self.frame_s)
            # a receiver may close once the first END is in: the repeats' port-unreachable
            # reports are expected, not a sign that nothing listened
            self._send(end, count_refusal=not i)
            self.stats.control += 1
        return self.stats

    def _send_start(self) -> None:
        self._send(self._start)
        self._starts_left -= 1
        self.stats.control += 1

    def stream(self, blocks: Iterator[np.ndarray]) -> SendStats:
        """Send float blocks at the model's rate, of any sizes, as frames (the last one
        zero-padded), then END.

        Ctrl-C or SIGTERM ends the input: the frames sent so far are followed by END, and
        ``stats.interrupted`` holds the signal's exception (to raise once the summary is out).
        """
        def counted(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
            for block in blocks:
                self.stats.samples += len(block)
                yield block

        try:
            for frames in whole_frames(counted(blocks), self.hop):
                for i in range(0, len(frames), self.hop):
                    self.send_frame(frames[i: i + self.hop])
        except STOPS as stop:  # END follows the frames sent; the rest is dropped
            self.stats.interrupted = stop
            self.stats.samples = min(self.stats.samples, self.stats.frames * self.hop)
        return self.finish()


def send_file(model, path, dest: tuple[str, int], on_open=None, raw: RawPCM | None = None,
              **options) -> SendStats:
    """Stream audio (``-``: stdin; any format soundfile reads, or headerless samples that
    ``raw`` describes; downmixed and resampled to the model's rate), read as ``codec encode``
    reads it (``audio.open_audio``). A file is read 0.2 s at a time; a stream (stdin, a pipe: a
    live source) one frame's duration at a time, until it ends.

    ``on_open(f)`` is called once the input is open; ``options`` go to ``Sender`` (bitrate,
    loss, seed, pace, stream_id).
    """
    model = runtime_model(model)
    rate = model.config.sample_rate
    with open_audio(path, raw) as f:
        if on_open:
            on_open(f)
        if f.streamed:  # its length is what comes
            blocks = read_blocks(f, rate, model.hop / rate)
        else:
            blocks = exact_length(read_blocks(f, rate, 0.2),
                                  output_samples_for(f.frames, f.samplerate, rate))
        with closing(Sender(model, dest, **options)) as sender:
            return sender.stream(blocks)


def send_pcm(model, stream: BinaryIO, dest: tuple[str, int], rate: int | None = None,
             channels: int = 1, **options) -> SendStats:
    """Stream live raw 16-bit little-endian PCM (e.g. ``arecord -f S16_LE -t raw``) from a
    binary stream until it ends: ``send_file`` with ``RawPCM("s16le", rate, channels)``;
    ``rate`` defaults to the model's."""
    model = runtime_model(model)
    rate = check_sample_rate(model.config.sample_rate if rate is None else rate, "rate")
    channels = check_int(channels, "channels", 1, 64)
    return send_file(model, stream, dest, raw=RawPCM("s16le", rate, channels), **options)
