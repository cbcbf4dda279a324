"""The command line, mostly in-process (each `python -m codec` costs seconds of torch import)."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from codec.__main__ import main
from codec.formats import bitstream

from conftest import ROOT, SAMPLES, speech_like


@pytest.fixture()
def wav_file(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(path, speech_like(2.0), 16000, subtype="PCM_16")
    return path


def run(args, capsys):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_encode_info_decode(tmp_path, wav_file, capsys):
    cdc, out = tmp_path / "x.cdc", tmp_path / "x.wav"
    assert run(["encode", wav_file, cdc, "--bitrate", "3"], capsys)[0] == 0
    rc, text, _ = run(["info", cdc], capsys)
    assert "(16000 Hz, 320-sample frames)" in text  # the geometry the model id implies
    assert rc == 0 and "codebooks        6 x 10 bits" in text and "true bitrate" in text
    assert run(["decode", cdc, out], capsys)[0] == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 32000, "PCM_16")


def test_other_input_rate_and_rate_original(tmp_path, capsys):
    src = tmp_path / "in.flac"
    sf.write(src, np.stack([speech_like(1.0, 44100)] * 2, axis=1), 44100)
    cdc, out16, outorig = tmp_path / "x.cdc", tmp_path / "a.wav", tmp_path / "b.wav"
    rc, _, err = run(["encode", src, cdc], capsys)
    assert rc == 0 and "downmixing 2 channels" in err and "resampling 44100 Hz" in err
    assert run(["decode", cdc, out16], capsys)[0] == 0
    assert sf.info(out16).frames == 16000
    assert run(["decode", cdc, outorig, "--rate", "original"], capsys)[0] == 0
    assert (sf.info(outorig).samplerate, sf.info(outorig).frames) == (44100, 44100)


def test_refuses_to_overwrite_without_force(tmp_path, wav_file, capsys):
    cdc = tmp_path / "x.cdc"
    cdc.write_bytes(b"keep me")
    rc, _, err = run(["encode", wav_file, cdc], capsys)
    assert rc == 1 and "--force" in err and cdc.read_bytes() == b"keep me"
    assert run(["encode", wav_file, cdc, "--force"], capsys)[0] == 0
    assert cdc.read_bytes()[:4] == b"CODC"


def _corruptions(data: bytes) -> dict[str, bytes]:
    bad_version = bytearray(data)
    bad_version[4] = 9
    header, codes = bitstream.read_bitstream(data, 16000, 320)
    other_model = bitstream.write_bitstream(
        bitstream.Header(b"\x01" * 8, header.sample_rate, header.num_samples,
                         header.num_codebooks, header.codebook_bits, header.num_frames,
                         16000, 320), codes)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    return {"magic": b"RIFF" + data[4:], "version": bytes(bad_version), "model": other_model,
            "truncated": data[:-7], "crc": bytes(flipped), "empty": b"",
            "text": b"this is not a codec file\n" * 3}


def test_every_corruption_fails_cleanly(tmp_path, wav_file, capsys):
    cdc = tmp_path / "x.cdc"
    assert run(["encode", wav_file, cdc], capsys)[0] == 0
    for name, data in _corruptions(cdc.read_bytes()).items():
        bad, out = tmp_path / f"{name}.cdc", tmp_path / f"{name}.wav"
        bad.write_bytes(data)
        rc, stdout, err = run(["decode", bad, out], capsys)
        assert rc == 1, name
        assert err.count("\n") == 1 and err.startswith("codec: error: "), (name, err)
        assert "Traceback" not in err and not out.exists(), name
        assert not list(tmp_path.glob(f".{name}.wav*")), "no temporary file may be left"


def test_info_of_a_damaged_model_id_reports_the_damage(tmp_path, wav_file, capsys):
    """A flipped bit in the model id names no held model: the file is damaged, and ``info``
    says so as ``decode`` does, instead of naming a model the codec does not hold."""
    cdc, other = tmp_path / "x.cdc", tmp_path / "other.cdc"
    assert run(["encode", wav_file, cdc], capsys)[0] == 0
    other.write_bytes(_corruptions(cdc.read_bytes())["model"])  # intact, of a model not held
    data = bytearray(cdc.read_bytes())
    data[data.index(bitstream.read_model_id(bytes(data)))] ^= 0x04
    cdc.write_bytes(bytes(data))
    for command in (["info", cdc], ["decode", cdc, tmp_path / "x.wav"]):
        rc, _, err = run(command, capsys)
        assert rc == 1 and "CRC mismatch" in err and "does not hold" not in err, (command, err)
    rc, _, err = run(["info", other], capsys)
    assert rc == 1 and f"encoded by model {'01' * 8}, which this codec does not hold" in err


def test_usage_errors_exit_2(capsys):
    for args in (["encode"], ["encode", "x.wav", "y.cdc", "--bitrate", "7.3"]):
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --bitrate: takes 1.5, 3, 6 or 9 (kbps), not '7.3'" in err


def test_missing_and_non_audio_inputs(tmp_path, capsys):
    rc, _, err = run(["encode", tmp_path / "nope.wav", tmp_path / "o.cdc"], capsys)
    assert rc == 1 and "nope.wav" in err
    txt = tmp_path / "text.wav"
    txt.write_text("hello, I am not audio\n")
    rc, _, err = run(["encode", txt, tmp_path / "o.cdc"], capsys)
    assert rc == 1 and err.startswith("codec: error: ") and not (tmp_path / "o.cdc").exists()


def test_pipes_through_a_real_process(tmp_path, wav_file):
    """stdin -> encode -> stdout -> decode -> stdout, as a user's shell pipeline would."""
    enc = subprocess.run([sys.executable, "-m", "codec", "encode", "-", "-"],
                         input=wav_file.read_bytes(), capture_output=True, cwd=ROOT, check=True)
    dec = subprocess.run([sys.executable, "-m", "codec", "decode", "-", "-"],
                         input=enc.stdout, capture_output=True, cwd=ROOT, check=True)
    out = tmp_path / "piped.wav"
    out.write_bytes(dec.stdout)
    assert sf.info(out).frames == 32000
    bad = subprocess.run([sys.executable, "-m", "codec", "decode", "-", str(tmp_path / "z.wav")],
                         input=b"garbage", capture_output=True, cwd=ROOT)
    assert bad.returncode == 1 and b"Traceback" not in bad.stderr


def test_shipped_samples_encode(tmp_path, capsys):
    sample = sorted(SAMPLES.glob("*.flac"))[0]
    assert run(["encode", sample, tmp_path / "s.cdc", "--bitrate", "1.5"], capsys)[0] == 0


def test_errors_name_the_file(tmp_path, wav_file, capsys):
    """Every complaint about a file's content names the file, as ``gzip`` does."""
    cdc = tmp_path / "x.cdc"
    assert run(["encode", wav_file, cdc], capsys)[0] == 0
    for name, data in _corruptions(cdc.read_bytes()).items():
        if not data:
            continue  # empty: refused before parsing, already naming the file
        bad = tmp_path / f"{name}.cdc"
        bad.write_bytes(data)
        for command in (["decode", bad, tmp_path / "o.wav"], ["info", bad]):
            rc, _, err = run(command, capsys)
            assert rc == 1 and err.startswith(f"codec: error: {bad}: "), (name, err)


def test_decode_of_audio_says_encode_is_meant(tmp_path, wav_file, capsys):
    rc, _, err = run(["decode", wav_file, tmp_path / "o.wav"], capsys)
    assert rc == 1 and err.count("\n") == 1, err
    assert f"{wav_file}: not a codec bitstream (bad magic): it is WAV audio" in err
    assert "codec encode" in err
    flac = tmp_path / "in.flac"
    sf.write(flac, speech_like(0.5), 16000)
    rc, _, err = run(["info", flac], capsys)
    assert rc == 1 and "FLAC audio" in err and "codec encode" in err


def _on_a_terminal(args, stream: str):
    """Run ``codec ARGS`` with stdout or stdin (``stream``) on a pseudo-terminal."""
    import os
    import pty
    main_fd, tty = pty.openpty()
    try:
        return subprocess.run([sys.executable, "-m", "codec", *map(str, args)], cwd=ROOT,
                              capture_output=stream == "stdin", timeout=60,
                              **{stream: tty}, **({"stderr": subprocess.PIPE}
                                                  if stream == "stdout" else {}))
    finally:
        os.close(main_fd)
        os.close(tty)


def test_no_binary_onto_a_terminal_and_no_silent_wait_on_one(tmp_path, wav_file):
    """As gzip: ``decode x.cdc -`` onto a terminal and ``encode - x.cdc`` from one refuse at
    once with one line, before any work, and leave no output."""
    cdc = tmp_path / "x.cdc"
    assert main(["encode", str(wav_file), str(cdc)]) == 0
    for args in (["decode", cdc, "-"], ["encode", wav_file, "-"]):
        p = _on_a_terminal(args, "stdout")
        assert p.returncode == 1, p.stderr
        assert p.stderr == b"codec: error: refusing to write binary data to a terminal: " \
            b"redirect stdout (> file, | command) or name an output file\n", p.stderr
    for args in (["encode", "-", tmp_path / "y.cdc"], ["decode", "-", tmp_path / "y.wav"],
                 ["info", "-"]):
        p = _on_a_terminal(args, "stdin")
        assert p.returncode == 1 and b"refusing to read from a terminal" in p.stderr, p.stderr
        assert p.stderr.count(b"\n") == 1
    assert sorted(x.name for x in tmp_path.iterdir()) == ["in.wav", "x.cdc"]


def test_quiet_json_version_and_examples(tmp_path, capsys):
    """``-q`` (before or after the command) silences notes, ``info --json`` gives the fields
    by name, ``--version`` names the shipped model, ``--help`` shows examples."""
    import json
    from codec import __version__
    from codec.runtime.store import WEIGHTS_DIR, read_meta
    src, cdc = tmp_path / "in.flac", tmp_path / "x.cdc"
    sf.write(src, np.stack([speech_like(0.5, 44100)] * 2, axis=1), 44100)
    assert run(["encode", src, cdc], capsys)[2].startswith("note: downmixing")
    for args in (["-q", "encode", src, cdc, "--force"], ["encode", "-q", src, cdc, "--force"]):
        assert run(args, capsys) == (0, "", ""), args
    rc, text, _ = run(["info", cdc, "--json"], capsys)
    fields = json.loads(text)
    assert rc == 0 and fields["model_id"] == read_meta(WEIGHTS_DIR)["model_id"]
    assert (fields["input_rate"], fields["input_samples"], fields["codebooks"]) == (44100, 22050, 12)
    assert fields["file_size"] == cdc.stat().st_size and fields["nominal_kbps"] == 6.0
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert out == f"codec {__version__} (shipped model {read_meta(WEIGHTS_DIR)['model_id']})\n"
    for args in (["--help"], ["encode", "--help"], ["send", "--help"]):
        with pytest.raises(SystemExit):
            main(args)
        assert "example" in capsys.readouterr().out, args


def test_transcode_cuts_the_bitrate_without_decoding(tmp_path, wav_file, capsys):
    """9 kbps -> 3 kbps keeps the first 6 of 18 codebooks, decodes as any 3 kbps file does,
    and is written atomically; a higher bitrate than the input's is refused with one line."""
    nine, three, again = tmp_path / "nine.cdc", tmp_path / "three.cdc", tmp_path / "again.cdc"
    assert run(["encode", wav_file, nine, "--bitrate", "9"], capsys)[0] == 0
    assert run(["transcode", nine, three, "--bitrate", "3"], capsys) == (0, "", "")
    h9, codes9 = bitstream.read_bitstream(nine.read_bytes(), 16000, 320)
    h3, codes3 = bitstream.read_bitstream(three.read_bytes(), 16000, 320)
    assert (h3.num_codebooks, h3.num_frames, h3.num_samples) == (6, h9.num_frames, h9.num_samples)
    assert np.array_equal(codes3, codes9[:6])
    assert run(["decode", three, tmp_path / "three.wav"], capsys)[0] == 0
    assert sf.info(tmp_path / "three.wav").frames == 32000
    rc, _, err = run(["transcode", three, again, "--bitrate", "6"], capsys)
    assert rc == 1 and err == f"codec: error: {three}: cannot raise a 3 kbps file to 6 kbps: " \
        "transcode only drops codebooks (encode the audio again)\n", err
    assert not again.exists() and not list(tmp_path.glob(".again*"))
    rc, _, err = run(["transcode", three, three, "--bitrate", "1.5", "--force"], capsys)
    assert rc == 1 and "it is its input" in err  # never over its own input
    rc, _, err = run(["transcode", nine, tmp_path / "x.wav", "--bitrate", "3"], capsys)
    assert rc == 1 and "name it x.cdc" in err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A trained model's folder outside the package (config.json, codec.pt, ONNX graphs)."""
    from codec.model import save_model
    from conftest import make_tiny_model
    folder = tmp_path_factory.mktemp("model") / "run"
    model = make_tiny_model(folder.parent / "scratch", seed=5)
    save_model(model, folder, graphs=True)
    return folder, model.model_id


def test_model_option_uses_a_folder_outside_the_package(tmp_path, wav_file, model_dir, capsys):
    """``--model DIR`` (before or after the command) encodes, decodes, tells about and
    transcodes with a saved model the package does not hold; a file of another model, or a
    folder that holds no model, is refused with one line."""
    import socket
    import threading
    import time
    folder, model_id = model_dir
    cdc, out = tmp_path / "x.cdc", tmp_path / "x.wav"
    assert run(["encode", wav_file, cdc, "--model", folder], capsys)[0] == 0
    assert bitstream.read_model_id(cdc.read_bytes()) == model_id
    rc, _, err = run(["decode", cdc, out], capsys)
    assert rc == 1 and f"encoded by model {model_id.hex()}, which this codec does not hold" in err
    assert run(["--model", folder, "decode", cdc, out], capsys)[0] == 0
    assert sf.info(out).frames == 32000
    rc, text, _ = run(["info", cdc, "--model", folder], capsys)
    assert rc == 0 and f"model id         {model_id.hex()}" in text
    assert run(["transcode", cdc, tmp_path / "y.cdc", "--bitrate", "3", "--model", folder],
               capsys)[0] == 0
    shipped = tmp_path / "shipped.cdc"
    assert run(["encode", wav_file, shipped], capsys)[0] == 0
    rc, _, err = run(["decode", shipped, tmp_path / "s.wav", "--model", folder], capsys)
    assert rc == 1 and "encoded by another model" in err and err.count("\n") == 1
    rc, _, err = run(["encode", wav_file, tmp_path / "z.cdc", "--model", tmp_path], capsys)
    assert rc == 1 and err.startswith(f"codec: error: --model: cannot read model in {tmp_path}")
    assert err.count("\n") == 1 and not (tmp_path / "z.cdc").exists()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{s.getsockname()[1]}"
    received, codes = tmp_path / "received.wav", {}
    thread = threading.Thread(target=lambda: codes.update(rx=main(
        ["receive", str(received), "--listen", addr, "--wait", "20", "--model", str(folder)])))
    thread.start()
    for _ in range(200):  # until the receiver has bound its socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", int(addr.split(":")[1])))
            except OSError:
                break
        time.sleep(0.05)
    assert main(["send", str(wav_file), "--to", addr, "--no-pace", "--model", str(folder)]) == 0
    thread.join(20)
    err = capsys.readouterr().err
    assert codes["rx"] == 0 and "junk 0" in err and "ICMP" not in err, err
    assert sf.info(received).frames == 32000
