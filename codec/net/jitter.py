"""The receiver's jitter buffer: sequence-number arithmetic, the bounded frame store, and the
interarrival-jitter estimate. No sockets, no clock, no model: ``ReceiverCore`` in
``receiver.py`` decides when frames are taken out (by sequence number in file mode, by a playout
clock in real-time mode) and decodes them.

Sequence numbers on the wire are u32; the buffer works on *extended* sequence numbers (Python
ints), obtained by unwrapping each u32 around the playout point (:func:`unwrap`), so a stream may
cross 2^32. Memory is bounded whatever arrives: at most ``capacity`` payloads, plus a
``HISTORY``-entry ring of the frames already played (to tell a late packet from a duplicate).
"""

from __future__ import annotations

import numpy as np

HISTORY = 1024  # frames behind the playout point remembered, to tell late from duplicate


def unwrap(seq: int, ref: int) -> int:
    """The extended sequence number nearest ``ref`` whose low 32 bits are ``seq``."""
    return ref + (seq - ref + (1 << 31)) % (1 << 32) - (1 << 31)


class JitterBuffer:
    """Payloads by extended sequence number, from the playout point ``next`` to ``next + capacity``.

    ``put`` classifies a packet: ``"ok"`` (stored), ``"duplicate"`` (stored or played already),
    ``"late"`` (its frame was concealed, or is older than the history), ``"early"`` (beyond the
    window, not stored). ``pop`` takes the frame at ``next`` (payload ``None`` when missing) and
    advances. ``recovered`` counts late packets of frames that had been concealed. Memory is
    bounded by ``capacity`` payloads and a ``HISTORY``-entry ring.
    """

    def __init__(self, next_seq: int, capacity: int = 64):
        self.next, self.capacity = next_seq, capacity
        self.frames: dict[int, tuple[bytes, float]] = {}
        self.recovered = 0
        self._seq = np.full(HISTORY, np.iinfo(np.int64).min, np.int64)
        self._got = np.zeros(HISTORY, bool)

    def __len__(self) -> int:
        return len(self.frames)

    def put(self, seq: int, payload: bytes, now: float) -> str:
        if seq < self.next:
            i = seq % HISTORY
            if self._seq[i] != seq:
                return "late"
            if self._got[i]:
                return "duplicate"
            self._got[i] = True
            self.recovered += 1
            return "late"
        if seq in self.frames:
            return "duplicate"
        if seq >= self.next + self.capacity:
            return "early"
        self.frames[seq] = (payload, now)
        return "ok"

    def pop(self) -> tuple[int, bytes | None, float | None]:
        seq = self.next
        payload, arrival = self.frames.pop(seq, (None, None))
        self._seq[seq % HISTORY], self._got[seq % HISTORY] = seq, payload is not None
        self.next += 1
        return seq, payload, arrival


class InterarrivalJitter:
    """The RFC 3550 interarrival jitter estimate (ms) from arrival times and sender timestamps,
    which count samples at ``sample_rate`` (the model's)."""

    def __init__(self, sample_rate: int):
        self.ms, self.sample_rate = 0.0, sample_rate
        self._prev: tuple[float, int] | None = None  # (arrival, timestamp)

    def update(self, timestamp: int, now: float) -> float:
        """Take one packet's u32 ``timestamp`` (samples) that arrived at ``now`` (s)."""
        if self._prev is not None:
            t0, ts0 = self._prev
            dts = ((timestamp - ts0 + (1 << 31)) % (1 << 32) - (1 << 31)) / self.sample_rate
            self.ms += (abs(now - t0 - dts) * 1000 - self.ms) / 16
        self._prev = (now, timestamp)
        return self.ms
