"""The AMR-WB peer (ffmpeg with libvo_amrwbenc): skips when either is missing."""

import numpy as np
import pytest

from codec.evaluation.metrics import log_mel_distance
from codec.evaluation.peers import AMRWBPeer

from test_metrics import SR, lag_of, speech_like

pytestmark = pytest.mark.skipif(not AMRWBPeer.is_available(),
                                reason="ffmpeg with libvo_amrwbenc not installed")


@pytest.mark.parametrize("kbps,frame_bytes", [(6.6, 17), (12.65, 32)])
def test_amrwb_roundtrip_length_alignment_bitrate(kbps, frame_bytes):
    x = speech_like(seed=6)[: SR * 3 - 123]  # not a whole number of frames
    peer = AMRWBPeer(kbps)
    y = peer.roundtrip(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert abs(lag_of(x, y)) <= 2  # the measured 95-sample delay is compensated
    frames = -(-(len(x) + AMRWBPeer.DELAY) // 320)
    assert peer.last_payload_bytes == frames * frame_bytes  # TOC bytes and magic not counted
    assert 8 * peer.last_payload_bytes / (len(x) / SR) / 1000 == pytest.approx(kbps, rel=0.04)
    assert log_mel_distance(x, y) < 0.5


def test_amrwb_storage_parsing():
    toc_6k6 = bytes([(0 << 3) | 4])  # frame type 0, quality bit set
    data = AMRWBPeer.MAGIC + (toc_6k6 + bytes(17)) * 3 + bytes([15 << 3 | 4])
    assert AMRWBPeer.frame_payload_bytes(data) == (4, 51)
    with pytest.raises(ValueError):
        AMRWBPeer.frame_payload_bytes(data[:-2])
    with pytest.raises(ValueError):
        AMRWBPeer.frame_payload_bytes(b"#!AMR\n" + data[9:])
    with pytest.raises(ValueError):
        AMRWBPeer(7)
