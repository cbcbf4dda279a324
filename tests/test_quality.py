"""End-to-end checks of the shipped model on the shipped samples: quality floor, streaming
equals offline, and zero lag (algorithmic latency = one 20 ms frame)."""

import numpy as np
import pytest
import soundfile as sf
import torch

import codec
from codec.evaluation.metrics import log_mel_distance
from codec.model import build_codec

from conftest import SAMPLES

# Mean log-mel distance (log10 mel magnitudes, see codec.evaluation.metrics) at 6 kbps on the
# samples must stay below this. The shipped model spec23L5 measures 0.249 on the six clips of
# the listening page (the telephone-band clip alone 0.46; cpu4, the model before it, 0.325);
# an untrained model measures about 1.0 and 40 dB-down white noise 0.7 to 0.9.
FLOOR_6KBPS = 0.30
CLIPS = sorted(SAMPLES.glob("*.flac"))


def load(path):
    wav, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return wav


def mean_distance(model, kbps):
    dists = []
    for clip in CLIPS:
        wav = load(clip)
        out, _ = codec.decompress(codec.compress(wav, 16000, kbps, model=model), model=model)
        dists.append(log_mel_distance(wav, out))
    return float(np.mean(dists))


def test_shipped_model_is_above_the_quality_floor(shipped_model):
    assert mean_distance(shipped_model, 6) < FLOOR_6KBPS


def test_more_bits_sound_better(shipped_model):
    d = [mean_distance(shipped_model, kbps) for kbps in (1.5, 9)]
    assert d[1] < d[0]


def test_the_floor_rejects_an_untrained_model():
    torch.manual_seed(0)
    model = build_codec()  # the shipped architecture, untrained
    model.train()
    model(torch.from_numpy(load(CLIPS[0]))[None, None])  # initialise the codebooks
    model.eval()
    assert mean_distance(model, 6) > FLOOR_6KBPS


@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.stem)
def test_streaming_equals_offline_on_speech(shipped_model, clip):
    wav = load(clip)
    wav = wav[: len(wav) // 320 * 320]
    offline = shipped_model.encode(torch.from_numpy(wav), 12)[0].numpy()
    enc, dec = codec.StreamEncoder(shipped_model, 6), codec.StreamDecoder(shipped_model)
    frames = wav.reshape(-1, 320)
    streamed = np.stack([enc.encode_codes(f) for f in frames], axis=1)
    # Codes flip where two codewords are near-equidistant: the per-frame and whole-file passes
    # sum in different orders, and the 8-bit layers' input rounding (codec/model/nn/int8.py)
    # turns such 1e-7 differences into whole steps. spec23L8 flips 0.4-3.0% of its 6 kbps codes
    # on these clips (measured; spec23L9 to spec23L13 pass the same checks), and in the coarse level 1
    # frame of 232 on the noisy clip (none on the others); the flips do not change what is
    # heard (the log-mel checks below).
    assert (streamed[0] != offline[0]).mean() <= 0.01
    assert (streamed != offline).mean() <= 0.1
    heard = [np.clip(shipped_model.decode(torch.from_numpy(c)[None])[0, 0].numpy(), -1, 1)
             for c in (streamed, offline)]
    assert log_mel_distance(*heard) < 0.1 * log_mel_distance(wav, heard[1])
    assert abs(log_mel_distance(wav, heard[0]) - log_mel_distance(wav, heard[1])) < 0.005
    enc = codec.StreamEncoder(shipped_model, 6)
    out = np.concatenate([dec.decode(enc.encode(f)) for f in frames])
    out = np.concatenate([out[dec.delay:], dec.flush()])  # the synthesis delay, as declared
    ref = np.clip(shipped_model.decode(torch.from_numpy(streamed)[None])[0, 0].numpy(), -1, 1)
    # The runtime's 8-bit layers round a few inputs differently from torch's, so some frames
    # differ slightly: 0.05-0.2% of the signal's RMS on these clips (below -50 dB), peak 0.005
    assert len(out) == len(wav) and np.abs(out - ref).max() < 0.02
    assert np.sqrt(np.mean((out - ref) ** 2) / np.mean(ref ** 2)) < 0.01


def test_blockwise_file_codes_equal_whole_file_codes(shipped_model):
    from codec.formats import bitstream
    from codec.runtime import api
    wav = np.concatenate([load(c) for c in CLIPS])
    whole = api.encode_blocks(shipped_model, iter([wav]), 16000, len(wav), 18)
    pieces = np.split(wav, [1, 5000, 16000, 16001, 100000])
    blocks = api.encode_blocks(shipped_model, iter(pieces), 16000, len(wav), 18)
    codes_whole, codes_blocks = bitstream.read_bitstream(whole, 16000, 320)[1], \
        bitstream.read_bitstream(blocks, 16000, 320)[1]
    assert (codes_whole != codes_blocks).mean() <= 0.001


def test_streamed_output_is_time_aligned(shipped_model):
    """Output sample t + ``dec.delay`` (the model's declared synthesis delay) reconstructs input
    sample t: cross-correlation peaks there (within 1 ms)."""
    wav = np.concatenate([load(c) for c in CLIPS])
    wav = wav[: len(wav) // 320 * 320]
    enc, dec = codec.StreamEncoder(shipped_model, 9), codec.StreamDecoder(shipped_model)
    out = np.concatenate([dec.decode(enc.encode(f)) for f in wav.reshape(-1, 320)])
    max_lag = 320
    lags = np.arange(-max_lag, max_lag + 1)
    core = slice(max_lag, len(wav) - max_lag)
    corr = [np.dot(wav[core], out[max_lag + lag: len(out) - max_lag + lag]) for lag in lags]
    assert abs(lags[int(np.argmax(corr))] - dec.delay) < 16
