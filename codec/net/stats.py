"""The receiver's statistics: ``ReceiveStats`` (counters a ``ReceiverCore`` keeps for one stream)
and ``format_summary`` (the summary ``codec receive`` prints at the end; see docs/STREAMING.md).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ReceiveStats", "format_summary"]


@dataclass
class ReceiveStats:
    sample_rate: int       # the model's frame geometry
    hop: int
    stream_id: int | None = None
    received: int = 0      # audio packets of the stream that arrived (late and duplicates too)
    decoded: int = 0       # frames decoded from a packet
    concealed: int = 0     # frames concealed (packet missing when the frame was settled)
    late: int = 0          # packets that came after their frame was concealed (dropped)
    duplicated: int = 0    # copies of a packet already received (dropped)
    early: int = 0         # real-time mode: packets beyond the buffer (dropped)
    junk: int = 0          # malformed, other stream, source or model (dropped)
    refused: int = 0       # START packets of another model (also junk)
    recovered: int = 0     # late packets of a concealed frame (so it was not lost)
    stretched: int = 0     # real-time mode: frames added to the playout to deepen the buffer
    samples: int = 0       # samples written
    payload_bits: int = 0  # codec payload of the decoded frames
    wire_bytes: int = 0    # bytes of the audio packets received
    hold_s: float = 0.0    # total time decoded frames waited in the buffer
    jitter_ms: float = 0.0   # interarrival jitter estimate (RFC 3550)
    target_ms: float | None = None  # real-time mode: jitter-buffer depth
    ended: bool = False    # END received

    @property
    def frame_s(self) -> float:
        return self.hop / self.sample_rate

    @property
    def lost(self) -> int:  # frames whose packet never arrived
        return self.concealed - self.recovered

    @property
    def kbps(self) -> float:
        return self.payload_bits / (self.decoded * self.frame_s * 1000) if self.decoded else 0.0

    @property
    def wire_kbps(self) -> float:
        return self.wire_bytes * 8 / (self.received * self.frame_s * 1000) if self.received else 0.0

    @property
    def hold_ms(self) -> float:
        return 1000 * self.hold_s / self.decoded if self.decoded else 0.0


def format_summary(s: ReceiveStats) -> str:
    sid = "none" if s.stream_id is None else f"{s.stream_id:08x}"
    if s.target_ms is None:  # frames are written as soon as they are settled: no playout clock
        buf = "none (file mode: frames are written in order, not played; --play plays them)"
    else:
        buf = (f"jitter buffer {s.target_ms:.0f} ms target ({s.stretched} frames added), "
               f"held {s.hold_ms:.1f} ms")
    return (f"stream {sid}: {s.samples} samples ({s.samples / s.sample_rate:.2f} s), "
            f"{'ended' if s.ended else 'no end-of-stream packet'}\n"
            f"packets  received {s.received}, lost {s.lost}, late {s.late}, duplicated "
            f"{s.duplicated}, early {s.early}, junk {s.junk}\n"
            f"frames   decoded {s.decoded}, concealed {s.concealed}\n"
            f"bitrate  {s.kbps:.2f} kbps codec payload, {s.wire_kbps:.2f} kbps with packet headers\n"
            f"delay    {buf}; network jitter {s.jitter_ms:.1f} ms")
