"""Every argument and input is checked at the boundary, before any work, with a message that
names it; on the CLI, usage errors exit 2 and unusable paths or inputs exit 1 with one line."""

import resource
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import codec
from codec.__main__ import build_parser, main
from codec.errors import ArgumentError, AudioInputError, FormatError
from codec.runtime import api
from codec.runtime.audio import check_signal, frame_into, to_float32

from conftest import ROOT, speech_like

BAD_RATES = [0, 1, 999, 384001, -16000, 16000.5, float("nan"), float("inf"), "16000", None, True,
             np.float32(8000.25)]
GOOD_RATES = [1000, 16000, np.int64(44100), np.int16(8000), 48000.0, np.float64(22050), 384000]


@pytest.mark.parametrize("rate", BAD_RATES, ids=repr)
def test_bad_sample_rates_are_refused_before_any_work(tiny_model, rate):
    with pytest.raises(AudioInputError, match=r"sample_rate must be a whole number of Hz from "
                       r"1000 to 384000, got"):
        api.compress(np.zeros(10**6, np.float32), rate, 6, model=tiny_model)


def test_rate_of_one_is_refused_fast_and_small(tiny_model):
    """It grew to 22 GB: refused before resampling now."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(AudioInputError, match="got 1$"):
        api.compress(np.zeros(16000 * 60, np.float32), 1, 6, model=tiny_model)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


@pytest.mark.parametrize("rate", GOOD_RATES, ids=repr)
def test_integral_rates_of_any_type_are_taken(tiny_model, rate):
    data = api.compress(np.zeros(100, np.float32), rate, 6, model=tiny_model)
    assert api.read_header(data, tiny_model).sample_rate == int(rate)


@pytest.mark.parametrize("kbps", [0.5, 4, 7, 12, 0, -6, float("nan"), float("inf"), "6", None,
                                  True])
def test_only_the_listed_bitrates(tiny_model, kbps):
    with pytest.raises(ArgumentError, match=r"bitrate must be 1\.5, 3, 6 or 9 kbps, got"):
        api.compress(np.zeros(10, np.float32), 16000, kbps, model=tiny_model)
    with pytest.raises(ArgumentError, match="bitrate must be"):
        codec.StreamEncoder(tiny_model, kbps)
    enc = codec.StreamEncoder(tiny_model, 6)
    with pytest.raises(ArgumentError, match="bitrate must be"):
        enc.bitrate = kbps
    assert enc.bitrate == 6.0 and enc.num_codebooks == 12


@pytest.mark.parametrize("kbps", [1.5, 3, 6, 9, np.float64(3), 6.0])
def test_listed_bitrates_are_taken(tiny_model, kbps):
    assert len(api.compress(np.zeros(320, np.float32), 16000, kbps, model=tiny_model)) > 0


@pytest.mark.parametrize("wav,match", [
    (np.zeros(100, np.int32), "dtype int32"), (np.zeros(100, bool), "dtype bool"),
    (np.zeros(100, complex), "dtype complex128"), (np.zeros(100, np.uint8), "dtype uint8"),
    (np.array(["a", "b"]), "dtype <U1"), (np.zeros((2, 16000), np.float32), r"\(2, 16000\)"),
    (np.zeros((10, 0), np.float32), "1 to 64 channels"), (np.zeros((2, 2, 2)), "1-D or"),
    (np.float32(0.5), "numpy array"), (np.zeros(()), "1-D or"), ("speech.wav", "numpy array"), (None, "numpy array"),
    (np.array([0.1, np.nan]), "NaN"), (np.array([np.inf]), "NaN")])
def test_bad_arrays(tiny_model, wav, match):
    with pytest.raises(AudioInputError, match=match):
        api.compress(wav, 16000, 6, model=tiny_model)


@pytest.mark.parametrize("wav", [np.zeros(0, np.float32), np.zeros((0, 2)), [], [0.1, -0.1],
                                 np.zeros(5, np.float16), np.zeros((5, 64)),
                                 torch.zeros(500)])
def test_other_valid_arrays(tiny_model, wav):
    out, _ = api.decompress(api.compress(wav, 16000, 6, model=tiny_model), model=tiny_model)
    assert len(out) == len(wav)


@pytest.mark.parametrize("data,error,match", [
    ("not bytes", ArgumentError, "data must be bytes, got str"), (5, ArgumentError, "got int"),
    (None, ArgumentError, "got NoneType"), (b"", FormatError, "truncated"),
    (b"CODC" + bytes(40), FormatError, "format version 0")])
def test_decompress_arguments(tiny_model, data, error, match):
    with pytest.raises(error, match=match):
        api.decompress(data, model=tiny_model)


def test_model_arguments(tiny_model):
    for call in (lambda: api.compress(np.zeros(9), 16000, 6, model="codec/weights"),
                 lambda: api.decompress(b"x", model=object()),
                 lambda: codec.StreamEncoder(3), lambda: codec.StreamDecoder("model")):
        with pytest.raises(ArgumentError, match=r"model must be a codec\.Engine .* or a codec\.Codec"):
            call()


@pytest.mark.parametrize("backend", ["foo", "", "ONNX", None, 3])
def test_unknown_backends_are_argument_errors(tiny_model, backend):
    from codec.runtime.streaming import DecoderStream, EncoderStream
    for call in (lambda: codec.StreamEncoder(tiny_model, 6, backend),
                 lambda: codec.StreamDecoder(tiny_model, backend=backend),
                 lambda: EncoderStream(tiny_model, 12, backend),
                 lambda: DecoderStream(tiny_model, backend=backend)):
        with pytest.raises(ArgumentError, match=r"backend must be 'auto', 'onnxruntime' or "
                           r"'eager', got"):
            call()


def test_stream_arguments(tiny_model):
    enc, dec = codec.StreamEncoder(tiny_model), codec.StreamDecoder(tiny_model)
    hop = tiny_model.hop
    for frame, match in [(np.zeros(hop - 1), r"exactly 320 samples"), (np.zeros((hop, 1)), "1-D"),
                         (np.zeros(hop, np.int32), "int32"), (np.full(hop, np.nan), "NaN"),
                         (np.full(hop, np.inf, np.float32), "infinite"),
                         ("x" * hop, "numpy array")]:
        with pytest.raises(AudioInputError, match=match):
            enc.encode(frame)
    with pytest.raises(ArgumentError, match="payload must be bytes, got str"):
        dec.decode("abc")
    with pytest.raises(FormatError):
        dec.decode(b"\x01")
    for fade in (0, -1, 2.5, "5"):
        with pytest.raises(ArgumentError, match="fade_frames must be a whole number from 1"):
            codec.StreamDecoder(tiny_model, fade_frames=fade)
    assert len(dec.decode(enc.encode(np.zeros(hop, np.int16)))) == hop


def test_frame_fast_path_equals_the_general_checks():
    """``frame_into`` (the per-frame path) gives what ``check_signal`` + ``to_float32`` + clip
    give, for the arrays it takes a shortcut with and for the others."""
    rng = np.random.default_rng(0)
    loud = rng.standard_normal(320)
    for frame in (loud.astype(np.float32) * 0.1, loud.astype(np.float32) * 3,
                  rng.integers(-32768, 32768, 320).astype(np.int16), loud, loud.astype(np.float16),
                  list(loud * 0.5), loud[::-1].astype(np.float32)):
        out = np.full(320, 7.0, np.float32)
        frame_into(out, frame)
        expected = np.clip(to_float32(check_signal(frame, "frame", 320)), -1, 1)
        np.testing.assert_array_equal(out, expected)
        assert out.dtype == np.float32


# -- resampling: tests/test_resample.py (lengths, tones, block-wise, awkward rates) ------------
def test_compress_resamples_in_blocks(tiny_model, monkeypatch):
    sizes = []
    real = api.resample_blocks

    def resample_blocks(blocks, orig, new):
        return real((sizes.append(len(b)) or b for b in blocks), orig, new)
    monkeypatch.setattr(api, "resample_blocks", resample_blocks)
    api.compress(np.zeros(44100 * 12, np.float32), 44100, 6, model=tiny_model)
    assert max(sizes) <= 5 * 44100 and sum(sizes) == 44100 * 12


# -- the command line ---------------------------------------------------------------------------
def usage_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith(" ")]
    assert lines[0].startswith("usage: codec") and len(lines) == 2, err
    assert "Traceback" not in err
    return lines[1]


@pytest.mark.parametrize("value", ["inf", "nan", "12", "4", "7", "0.5", "-6", "six", ""])
def test_bad_bitrate_is_a_usage_error(capsys, value):
    for cmd in (["encode", "x.wav", "y.cdc"], ["send", "x.wav", "--to", "127.0.0.1:1"]):
        line = usage_error(cmd + ["--bitrate", value], capsys)
        assert f"argument --bitrate: takes 1.5, 3, 6 or 9 (kbps), not {value!r}" in line


def test_help_lists_exactly_the_accepted_bitrates(tiny_model):
    parser = build_parser()
    help_text = parser._subparsers._group_actions[0].choices["encode"].format_help()
    assert "kbps: 1.5, 3, 6 or 9 (default 6)" in " ".join(help_text.split())
    for kbps in (1.5, 3, 6, 9):
        args = parser.parse_args(["encode", "a", "b", "--bitrate", f"{kbps:g}"])
        assert api.codebooks_for(codec.load_model(), args.bitrate) > 0


@pytest.mark.parametrize("args,words", [
    (["decode", "a", "b", "--rate", "5"], "--rate: takes a whole number of Hz from 1000"),
    (["decode", "a", "b", "--rate", "16000.5"], "--rate"),
    (["decode", "a", "b", "--rate", "nan"], "--rate"),
    (["send", "a", "--to", "nocolon"], "--to: expected HOST:PORT, got 'nocolon'"),
    (["send", "a", "--to", "h:99999"], "--to"),
    (["send", "a", "--to", "h:1", "--loss", "nan"], "--loss: takes a fraction from 0 to 1"),
    (["send", "a", "--to", "h:1", "--loss", "2"], "--loss"),
    (["send", "a", "--to", "h:1", "--rate", "1"], "--rate"),
    (["send", "a", "--to", "h:1", "--channels", "0"], "--channels"),
    (["receive", "o.wav", "--idle", "inf"], "--idle"),
    (["receive", "o.wav", "--wait", "-1"], "--wait"),
    (["receive", "o.wav", "--jitter-ms", "nan"], "--jitter-ms"),
    (["receive", "o.wav", "--listen", "x"], "--listen")])
def test_other_usage_errors(capsys, args, words):
    assert words in usage_error(args, capsys)


def cli(args, capsys):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert err.startswith("codec: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "0x" not in err and ".part" not in err, err
    return rc, err


def test_paths_that_cannot_be_used(tmp_path, capsys):
    wav, cdc = tmp_path / "m.wav", tmp_path / "m.cdc"
    sf.write(wav, speech_like(0.5), 16000)
    assert main(["encode", str(wav), str(cdc)]) == 0
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio\n")
    cases = [
        (["encode", tmp_path / "nope.wav", tmp_path / "o.cdc"], "nope.wav: no such file"),
        (["encode", tmp_path, tmp_path / "o.cdc"], "it is a directory"),
        (["encode", tmp_path / "empty.wav", tmp_path / "o.cdc"], "empty.wav: the file is empty"),
        (["encode", tmp_path / "text.wav", tmp_path / "o.cdc"], "not a WAV, FLAC, OGG"),
        (["decode", tmp_path / "nope.cdc", tmp_path / "o.wav"], "nope.cdc: no such file"),
        (["decode", tmp_path, tmp_path / "o.wav"], "it is a directory"),
        (["decode", tmp_path / "empty.wav", tmp_path / "o.wav"], "the file is empty"),
        (["decode", cdc, tmp_path / "no" / "o.wav"], "folder"),
        (["decode", cdc, tmp_path / "o.mp3"], ".wav, .flac or .ogg"),
        (["info", tmp_path / "nope.cdc"], "nope.cdc: no such file"),
        (["send", tmp_path / "nope.wav", "--to", "127.0.0.1:9"], "nope.wav: no such file"),
        (["send", wav, "--to", "no-such-host.invalid:5004"], "host 'no-such-host.invalid' not found"),
    ]
    for args, words in cases:
        rc, err = cli(args, capsys)
        assert rc == 1 and words in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.wav", "m.cdc", "m.wav", "text.wav"]


def test_one_hertz_wav_is_refused_at_once(tmp_path, capsys):
    src = tmp_path / "one.wav"
    sf.write(src, np.zeros(100, np.float32), 1)
    rc, err = cli(["encode", src, tmp_path / "o.cdc"], capsys)
    assert rc == 1 and "sample rate of" in err and "got 1" in err


def test_original_rate_out_of_range_asks_for_rate(tmp_path, capsys, shipped_model):
    header = codec.formats.bitstream.Header(shipped_model.model_id, 500, 500, 3, 10, 50, 16000, 320)
    src = tmp_path / "x.cdc"
    src.write_bytes(codec.formats.bitstream.write_bitstream(header, np.zeros((3, 50), np.int64)))
    rc, err = cli(["decode", src, tmp_path / "o.wav", "--rate", "original"], capsys)
    assert rc == 1 and "500 Hz" in err and "--rate" in err
    assert main(["decode", str(src), str(tmp_path / "o.wav")]) == 0


@pytest.mark.parametrize("stdin,words", [(b"", b"stdin is empty"),
                                         (np.zeros(8000, np.int16).tobytes(), b"stdin: not a WAV")])
def test_empty_or_raw_stdin(stdin, words):
    p = subprocess.run([sys.executable, "-m", "codec", "encode", "-", "-"], input=stdin,
                       capture_output=True, cwd=ROOT)
    assert p.returncode == 1 and p.stdout == b"" and words in p.stderr, p.stderr
    assert p.stderr.count(b"\n") == 1 and b"BytesIO" not in p.stderr


def test_decode_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    import codec.__main__ as cli_main
    wav, cdc = tmp_path / "m.wav", tmp_path / "m.cdc"
    sf.write(wav, speech_like(1.0), 16000)
    assert main(["encode", str(wav), str(cdc)]) == 0
    monkeypatch.setattr(cli_main, "_tty", lambda: True)
    monkeypatch.setattr(cli_main, "LONG_INPUT_S", 0.5)
    assert main(["decode", str(cdc), str(tmp_path / "o.wav")]) == 0
    assert "decode:   0%" in capsys.readouterr().err


def test_receive_progress_line(monkeypatch, capsys):
    from codec.net import cli as net_cli
    from codec.net.stats import ReceiveStats
    monkeypatch.setattr(net_cli, "_tty", lambda: True)
    show, done = net_cli._receive_progress(16000)
    show(ReceiveStats(16000, 320, received=250, samples=80000))
    assert "receiving: 5 s, 250 packets, 0 lost" in capsys.readouterr().err
    monkeypatch.setattr(net_cli, "_tty", lambda: False)
    assert net_cli._receive_progress(16000) == (None, None)


def test_send_notes_conversion_and_explains_bitrates(tmp_path, capsys):
    src = tmp_path / "st.wav"
    sf.write(src, np.stack([speech_like(0.5, 44100)] * 2, axis=1), 44100)
    assert main(["send", str(src), "--to", "127.0.0.1:9", "--no-pace", "--bitrate", "3"]) == 0
    err = capsys.readouterr().err
    assert "note: downmixing 2 channels to mono, resampling 44100 Hz to 16000 Hz" in err
    assert "3.00 kbps codec payload" in err and "with packet headers (as codec receive" in err


def test_import_from_the_folder_that_holds_the_clone(tmp_path):
    """With the README's install (editable, the clone on the path: see test_packaging.py), a
    clone named ``codec`` in the working directory is not taken for an empty namespace package."""
    if any("__editable__" in type(f).__module__ or "__editable__" in getattr(f, "__module__", "")
           for f in sys.meta_path):
        pytest.skip("installed with an import hook, before pyproject.toml's package-dir")
    (tmp_path / "codec").symlink_to(ROOT, target_is_directory=True)
    p = subprocess.run([sys.executable, "-c", "import codec; print(codec.compress)"],
                       capture_output=True, cwd=tmp_path, text=True)
    assert p.returncode == 0 and "function compress" in p.stdout, p.stderr
