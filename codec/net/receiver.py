"""Receiving a live stream: a socket-free core (jitter buffer, decoding, concealment) and a UDP loop.

``ReceiverCore`` takes datagrams with their source and arrival time (``handle``) and gives decoded
frames in sequence order (``pull_frames``); it reads no socket and no clock, so tests drive it
with synthetic packets and times. ``Receiver`` runs it on a UDP socket and writes a WAV file.

In file mode (default) frames are placed by sequence number, without a clock: a frame is
decoded once it and every earlier frame are settled, and a missing frame is concealed when a
packet ``capacity`` frames further on arrives, ``END_GRACE`` s after END, or at the idle
timeout; nothing is dropped for arriving early. In real-time mode (``--play``) frame ``s`` is
played at ``anchor + s * frame + delay`` (``anchor`` from the first audio packet's arrival,
``delay`` the jitter-buffer depth); a frame missing then is concealed, and a late packet deepens
the buffer by one frame (up to ``MAX_DELAY``) with one concealed frame for the sound card only.
Either way each sequence number yields one frame, so the output stays time-aligned and, with
END, is exactly as long as the input. Details: docs/STREAMING.md.
"""

from __future__ import annotations

import socket
import time
from typing import Callable, Iterator

import numpy as np

from ..errors import FormatError
from ..formats.packet import AudioPacket, EndPacket, StartPacket, decode_packet, model_tag_of
from ..runtime.audio import Output, audio_format_for, write_audio_blocks
from ..runtime.signals import STOPS, caught, deferred
from ..runtime.streaming import StreamDecoder, runtime_model
from . import DEFAULT_PORT, IDLE_TIMEOUT, format_address
from .jitter import InterarrivalJitter, JitterBuffer, unwrap
from .stats import ReceiveStats, format_summary

__all__ = ["DEFAULT_PORT", "IDLE_TIMEOUT", "JitterBuffer", "ReceiveStats", "Receiver",
           "ReceiverCore", "format_summary", "unwrap"]

MAX_DATAGRAM = 2048   # packets are at most 145 bytes; longer datagrams arrive cut, hence junk
MAX_JUMP_S = 30.0     # seconds: a packet further ahead of the playout point is junk
END_GRACE = 0.2       # seconds file mode waits for stragglers after END
MAX_DELAY = 0.3       # real-time mode: the deepest the jitter buffer grows (seconds)
MAX_REFUSED = 16      # stream ids of refused streams remembered
LOCK_SLOTS = 4096     # candidate streams remembered before locking on
LOCK_WINDOW = 50      # frames: how close in sequence a candidate's second packet must be

Frame = tuple  # (seq or None, float32 samples)


class ReceiverCore:
    """One stream's receive logic, without sockets or clocks: ``handle`` then ``pull_frames``.

    Locks onto the first stream announced by a START of this model, or (receiver restarted
    mid-call, START lost) by an AUDIO packet carrying this model's tag, once a second packet of
    the same stream and source confirms it; output starts at the first packet's sequence number.
    Afterwards packets of other streams, sources or models are junk.
    A START of another model is refused: counted, remembered in ``refusal`` (one message), and
    its stream ignored; ``refused_ended`` tells that such a stream sent its END.
    """

    def __init__(self, model, realtime: bool = False, jitter_ms: float = 60.0,
                 capacity: int = 64, idle_timeout: float = IDLE_TIMEOUT, adaptive: bool = True):
        self.model = model = runtime_model(model)
        self.realtime, self.adaptive = realtime, adaptive
        self.hop, self.bits = model.hop, model.config.codebook_bits
        self.frame_s = model.hop / model.config.sample_rate
        self.max_jump = round(MAX_JUMP_S * model.config.frame_rate)  # frames
        self.tag = model_tag_of(model.model_id)
        self.capacity, self.idle_timeout = capacity, idle_timeout
        self.delay = jitter_ms / 1000
        self.stats = ReceiveStats(model.config.sample_rate, model.hop,
                                  target_ms=jitter_ms if realtime else None)
        self.decoder = StreamDecoder(model)
        self.buffer: JitterBuffer | None = None
        self.stream_id = self.source = None
        self.first_seq = self.start_seq = self.highest = self.end_seq = None
        self.total_samples = 0
        self.anchor = self.end_time = self.last_valid = None
        self.refusal: str | None = None
        self.refused_ended = False
        self._refused: dict[int, None] = {}
        self._candidates: dict[int, tuple] = {}  # slot -> (packet, source, size, arrival)
        self._ready: list[Frame] = []  # frames settled inside handle() (file mode, window full)
        self._stretch = 0
        self._jitter = InterarrivalJitter(model.config.sample_rate)
        self._popped = False

    # -- packets in ---------------------------------------------------------------------------
    def handle(self, data: bytes, source, now: float) -> None:
        """Take one datagram from ``source`` that arrived at time ``now`` (seconds)."""
        try:
            pkt = decode_packet(data, self.bits)
        except FormatError:
            self.stats.junk += 1
            return
        if self.buffer is None:
            self._admit(pkt, source, len(data), now)
        else:
            self._dispatch(pkt, source, len(data), now)

    def _dispatch(self, pkt, source, size: int, now: float) -> None:
        if pkt.stream_id != self.stream_id or source != self.source or pkt.model_tag != self.tag:
            self.stats.junk += 1
            return
        if isinstance(pkt, StartPacket):
            ok = self._on_start(pkt)
        elif isinstance(pkt, AudioPacket):
            ok = self._on_audio(pkt, size, now)
        else:
            ok = self._on_end(pkt, now)
        if ok:
            self.last_valid = now
        else:
            self.stats.junk += 1

    def _check_start(self, pkt: StartPacket) -> bool:
        ours = (self.model.model_id, self.model.config.sample_rate, self.hop, self.bits)
        if (pkt.model_id, pkt.sample_rate, pkt.frame_size, pkt.codebook_bits) == ours:
            return True
        self.stats.refused += 1
        if len(self._refused) >= MAX_REFUSED:
            self._refused.pop(next(iter(self._refused)))
        self._refused[pkt.stream_id] = None
        if self.refusal is None:
            self.refusal = (f"refused stream {pkt.stream_id:08x}: it was encoded with model "
                            f"{pkt.model_id.hex()} ({pkt.sample_rate} Hz, {pkt.frame_size}-sample "
                            f"frames, {pkt.codebook_bits}-bit codes), this receiver has model "
                            f"{ours[0].hex()}; both ends need the same weights")
        return False

    def _admit(self, pkt, source, size: int, now: float) -> None:
        """Before locking on: a START or AUDIO packet of this model makes its (stream, source) a
        candidate, held in a direct-mapped table of ``LOCK_SLOTS``; a second packet of the same
        candidate, at most ``LOCK_WINDOW`` frames away, locks on at the first one and both are
        taken. So junk that merely looks valid (one packet per made-up stream) cannot capture
        the receiver, and a flood evicts a real candidate only when it hits its slot."""
        self.stats.junk += 1  # taken back if the packet turns out to start the stream
        if pkt.stream_id in self._refused:
            self.refused_ended |= isinstance(pkt, EndPacket)
            return
        if isinstance(pkt, StartPacket):
            if not self._check_start(pkt):
                return
        elif not (isinstance(pkt, AudioPacket) and pkt.model_tag == self.tag):
            return
        slot = hash((pkt.stream_id, source)) % LOCK_SLOTS
        held = self._candidates.get(slot)
        if (held is None or held[0].stream_id != pkt.stream_id or held[1] != source
                or abs(unwrap(pkt.seq, held[0].seq) - held[0].seq) > LOCK_WINDOW):
            self._candidates[slot] = (pkt, source, size, now)
            return
        self.stats.junk -= 2
        self._candidates.clear()
        first = held[0]
        if isinstance(first, StartPacket):
            self.start_seq = first.seq
        self.stream_id, self.source, self.first_seq = first.stream_id, source, first.seq
        self.stats.stream_id = first.stream_id
        self.buffer = JitterBuffer(first.seq, self.capacity)
        self._dispatch(*held)
        self._dispatch(pkt, source, size, now)

    def _on_start(self, pkt: StartPacket) -> bool:
        if not self._check_start(pkt):
            return False
        seq = unwrap(pkt.seq, self.buffer.next)
        self.start_seq = seq
        if not self._popped and seq < self.buffer.next:  # START overtaken by audio: start earlier
            self.first_seq = self.buffer.next = seq
        return True

    def _on_audio(self, pkt: AudioPacket, size: int, now: float) -> bool:
        buf, st = self.buffer, self.stats
        seq = unwrap(pkt.seq, buf.next)
        if pkt.num_codebooks > self.model.config.num_codebooks or seq >= buf.next + self.max_jump:
            return False
        st.received += 1
        st.wire_bytes += size
        st.jitter_ms = self._jitter.update(pkt.timestamp, now)
        if self.anchor is None:
            self.anchor = now - seq * self.frame_s
        if not self.realtime:
            while seq >= buf.next + self.capacity:  # window full: settle the oldest frame
                self._ready.append(self._pop(now))
        result = buf.put(seq, pkt.payload, now)
        if result == "ok":
            self.highest = seq if self.highest is None else max(self.highest, seq)
        elif result == "late":
            st.late += 1
            st.recovered = buf.recovered
            if self.realtime and self.adaptive and self.delay + self.frame_s <= MAX_DELAY + 1e-9:
                self.delay += self.frame_s
                self._stretch += 1
                st.target_ms = self.delay * 1000
        elif result == "duplicate":
            st.duplicated += 1
        else:
            st.early += 1
        return True

    def _on_end(self, pkt: EndPacket, now: float) -> bool:
        end = unwrap(pkt.seq, self.buffer.next)
        if end >= self.buffer.next + self.max_jump:
            return False
        if self.end_seq is None:
            self.end_seq, self.total_samples, self.end_time = end, pkt.total_samples, now
            self.stats.ended = True
        return True

    # -- frames out ---------------------------------------------------------------------------
    def due(self, seq: int) -> float:
        """Real-time mode: when frame ``seq`` is played."""
        return self.anchor + seq * self.frame_s + self.delay

    def _pop(self, now: float) -> Frame:
        seq, payload, arrival = self.buffer.pop()
        self._popped = True
        if payload is None:
            self.stats.concealed += 1
            upcoming = self.buffer.frames.get(seq + 1)
            return seq, self.decoder.conceal(upcoming[0] if upcoming else None)
        self.stats.decoded += 1
        self.stats.hold_s += now - arrival
        frame = self.decoder.decode(payload)
        self.stats.payload_bits += self.decoder.num_codebooks * self.bits
        return seq, frame

    def pull_frames(self, now: float) -> list[Frame]:
        """Frames settled by ``now``, in order, as ``(seq, samples)``; ``seq`` is ``None`` for
        a real-time stretch frame (for the sound card only, never the file)."""
        out, self._ready = self._ready, []
        buf, stop = self.buffer, self.end_seq
        if buf is None:
            return out
        if self.realtime:
            for _ in range(self._stretch):
                out.append((None, self.decoder.decode(None)))
                self.stats.stretched += 1
            self._stretch = 0
            while (self.anchor is not None and (stop is None or buf.next < stop)
                   and now >= self.due(buf.next)):
                out.append(self._pop(now))
        else:
            while buf.next in buf.frames and (stop is None or buf.next < stop):
                out.append(self._pop(now))
            if stop is not None and now >= self.end_time + END_GRACE:
                out += self.flush(now)
        if self._idle(now):
            out += self.flush(now)
        return out

    def flush(self, now: float) -> list[Frame]:
        """Settle every frame up to the end (END's, else the highest received), concealing gaps."""
        if self.buffer is None:
            return []
        limit = self.end_seq if self.end_seq is not None else (
            self.highest + 1 if self.highest is not None else self.buffer.next)
        return [self._pop(now) for _ in range(self.buffer.next, limit)]

    def _idle(self, now: float) -> bool:
        return self.last_valid is not None and now - self.last_valid >= self.idle_timeout

    def done(self, now: float) -> bool:
        """The stream is over: every frame up to END settled, or idle for ``idle_timeout``."""
        if self.buffer is None:
            return False
        return (self.end_seq is not None and self.buffer.next >= self.end_seq) or self._idle(now)

    def next_wakeup(self, now: float) -> float:
        """The latest time the caller should call ``pull_frames`` again (if no packet comes)."""
        t = now + 0.2
        if self.last_valid is not None:
            t = min(t, self.last_valid + self.idle_timeout)
        if self.realtime and self.anchor is not None:
            t = min(t, self.due(self.buffer.next))
        elif self.end_time is not None:
            t = min(t, self.end_time + END_GRACE)
        return t

    def safe_length(self) -> int:
        """Output samples known to belong to the stream (a tail END may trim is held back)."""
        if self.end_seq is not None:
            return self.final_length()
        return 0 if self.highest is None else max(0, (self.highest - self.first_seq) * self.hop)

    def final_length(self) -> int:
        """The output's length: END's total samples from ``first_seq`` on, or every frame up to
        the highest received."""
        if self.first_seq is None:
            return 0
        if self.end_seq is not None:
            skipped = (self.first_seq - (self.start_seq or 0)) * self.hop
            frames = max(0, self.end_seq - self.first_seq)
            return min(max(0, self.total_samples - skipped), frames * self.hop)
        return 0 if self.highest is None else (self.highest + 1 - self.first_seq) * self.hop


class _Tail:
    """Output held back until the core confirms it, so the stream's end can be trimmed exactly.

    The first ``skip`` samples (the decoder's synthesis delay) are dropped, so the file lines up
    with the sender's input; the decoder's ``flush`` at the end makes up for them.
    """

    def __init__(self, skip: int = 0):
        self.pending: list[np.ndarray] = []
        self.written = 0
        self.skip = skip

    def release(self, upto: int) -> np.ndarray:
        held = np.concatenate(self.pending) if self.pending else np.zeros(0, np.float32)
        if self.skip:
            drop = min(self.skip, len(held))
            held, self.skip = held[drop:], self.skip - drop
        n = max(0, min(len(held), upto - self.written))
        self.pending, self.written = [held[n:]], self.written + n
        return held[:n]


class Receiver:
    """The UDP loop around a ``ReceiverCore``; ``run(path)`` writes the stream as 16-bit WAV.

    The socket is bound on construction (``address`` tells the port when 0 was asked). ``wait``
    is how long to wait for a stream to lock onto; a refused stream ends the wait early once it
    sends END (``FormatError``, a ``ValueError``, with the refusal message, which names the
    model id). ``on_play(samples)`` gets each frame as it is played out (real-time mode: a sound
    card), ``progress(stats)`` is called once a second, ``note(text)`` once on a refusal. With
    ``record_times``, ``frame_times`` lists ``(seq, monotonic time)`` of each output frame (to
    measure latency). Ctrl-C or SIGTERM after the stream started ends it like an idle timeout:
    the file keeps what was received, and ``interrupted`` holds the signal's exception (to raise
    once the summary is out).
    """

    def __init__(self, model, listen: tuple[str, int] = ("127.0.0.1", DEFAULT_PORT),
                 realtime: bool = False, jitter_ms: float = 60.0, wait: float = 30.0,
                 idle_timeout: float = IDLE_TIMEOUT, on_play: Callable | None = None,
                 progress: Callable | None = None, note: Callable | None = None,
                 record_times: bool = False):
        self.core = ReceiverCore(model, realtime, jitter_ms, idle_timeout=idle_timeout)
        self.wait, self.on_play, self.progress, self.note = wait, on_play, progress, note
        self.frame_times: list[tuple[int, float]] | None = [] if record_times else None
        self.interrupted: BaseException | None = None  # see the class
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:  # room for a --no-pace burst while a frame decodes
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        try:
            self.sock.bind(listen)
        except OSError as e:
            self.sock.close()
            raise OSError(e.errno, f"cannot listen on {format_address(listen)}: "
                                   f"{e.strerror or e}") from None
        self.address = self.sock.getsockname()[:2]

    def close(self) -> None:
        self.sock.close()

    def run(self, path, force: bool = False, fmt: tuple[str, str] | None = None
            ) -> ReceiveStats:
        """Receive one stream into ``path`` (``-`` = stdout; WAV, or ``fmt`` / FLAC or OGG by
        the name's extension); returns the stats."""
        try:
            fmt = fmt or audio_format_for(path)
            with Output(path, force).open() as f:
                write_audio_blocks(f, self.frames(), self.core.model.config.sample_rate, fmt)
        finally:
            self.close()
        return self.core.stats

    def frames(self) -> Iterator[np.ndarray]:
        """The output blocks, as they are confirmed, until the stream ends."""
        core = self.core
        tail = _Tail(core.decoder.delay)
        start = time.monotonic()
        report, noted = start + 1, False
        try:
            while True:
                now = time.monotonic()
                self._output(core.pull_frames(now), tail, now)
                block = tail.release(core.safe_length())
                core.stats.samples = tail.written
                if len(block):
                    with deferred():  # the block is written whole; a signal comes after it
                        yield block
                if core.done(now):
                    break
                if core.refusal and not noted and self.note:
                    self.note(core.refusal)
                    noted = True
                if core.buffer is None and (core.refused_ended or now - start >= self.wait):
                    if core.refusal:
                        raise FormatError(core.refusal)
                    raise TimeoutError(f"no stream arrived on {self.address[0]}:"
                                       f"{self.address[1]} within {self.wait:g} s")
                if self.progress and now >= report:
                    self.progress(core.stats)
                    report += 1
                wake = core.next_wakeup(now)
                if core.buffer is None:
                    wake = min(wake, start + self.wait)
                self._receive(wake - now)
        except STOPS as e:
            if core.buffer is None:
                raise
            caught()
            self.interrupted = e
            now = time.monotonic()
            self._output(core.flush(now), tail, now)
        tail.pending.append(core.decoder.flush())  # the last ``delay`` samples, if any
        block = tail.release(core.final_length())
        core.stats.samples = tail.written
        yield block

    def _output(self, frames: list[Frame], tail: _Tail, now: float) -> None:
        for seq, samples in frames:
            if self.on_play:
                self.on_play(samples)
            if seq is not None:
                tail.pending.append(samples)
                if self.frame_times is not None:
                    self.frame_times.append((seq, now))

    def _receive(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a datagram, then take whatever else is queued."""
        self.sock.settimeout(max(timeout, 0.0))
        for _ in range(256):
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, TimeoutError, ConnectionError):
                return
            self.core.handle(data, addr[:2], time.monotonic())
            self.sock.setblocking(False)
