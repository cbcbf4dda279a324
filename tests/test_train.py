"""Training: data pipeline, a few steps on a tiny model, resume from checkpoint, export."""

import importlib.util
import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from codec.model import build_codec, load_model
from codec.train.data import (Augment, SpeechCorpus, list_utterances, split_by_speaker,
                              split_sources)
from codec.train.loop import TrainConfig, Trainer, bitrate_picks

from conftest import SHARED, TINY, needs_shared, speech_like


def make_corpus(folder, n=6):
    for i in range(n):
        spk = folder / f"spk{i % 3}"
        spk.mkdir(parents=True, exist_ok=True)
        sf.write(spk / f"utt{i}.wav", speech_like(0.5 + 0.3 * i, 22050, seed=i), 22050)
    return list_utterances(folder)


def test_corpus_crops_and_augment(tmp_path):
    utts = make_corpus(tmp_path)
    assert len(utts) == 6 and {u.speaker for u in utts} == {"spk0", "spk1", "spk2"}
    corpus = SpeechCorpus(utts)
    assert corpus.audio.dtype == torch.int16 and len(corpus) == 6
    g = torch.Generator().manual_seed(0)
    crops = corpus.crops(8, 16000, g)  # longer than the shortest files: zero-padded
    assert crops.shape == (8, 1, 16000) and crops.abs().max() <= 1
    out = Augment(telephone_prob=1.0)(crops, g)
    peaks = out.abs().amax(-1)
    assert (peaks <= 10 ** (-1 / 20) + 1e-4).all() and (peaks >= 10 ** (-40 / 20) - 1e-4).all()


def test_corpus_keeps_16_bit_samples_exactly(tmp_path):
    """A 16-bit file at the model's rate is held sample for sample (the runtime's n / 32768
    scale, full-scale negatives included), and crops are those samples / 32768."""
    samples = np.array([-32768, -32767, -1, 0, 1, 12345, 32767] * 100, dtype=np.int16)
    (tmp_path / "spk").mkdir()
    sf.write(tmp_path / "spk" / "u.flac", samples, 16000, subtype="PCM_16")
    corpus = SpeechCorpus(list_utterances(tmp_path))
    assert torch.equal(corpus.audio, torch.from_numpy(samples))
    crop = corpus.crops(1, len(samples), torch.Generator().manual_seed(0))[0, 0]
    assert torch.equal(crop, torch.from_numpy(samples).float() / 32768)


def test_lpcnet_augmentation_filters_flips_and_adds_noise():
    """LPCNet's augmentation: each crop gets its own stable second-order filter (an impulse's
    response starts 1, a1 - b1 and decays), about half the crops flip polarity, and the noise
    sits within its SNR range."""
    from codec.train.data import AUGMENTATIONS
    g = torch.Generator().manual_seed(0)
    impulse = torch.zeros(200, 1, 4000)
    impulse[..., 0] = 1.0
    filtered = Augment(telephone_prob=0, filter_range=0.375, min_peak_db=0, max_peak_db=0)(
        impulse, g)
    assert (filtered[..., 0] == 1).all()  # peak 1 at the first sample, 0 dBFS
    assert filtered[..., 1].abs().max() <= 0.75 and filtered[..., 1].std() > 0.1
    assert filtered[..., -100:].abs().max() < 1e-6  # stable: the response has died away
    flips = Augment(telephone_prob=0, random_polarity=True, min_peak_db=0, max_peak_db=0)(
        impulse, g)[..., 0]
    assert 60 < int((flips < 0).sum()) < 140
    tone = torch.sin(torch.arange(16000) * 0.1).expand(50, 1, -1).clone()
    noisy = Augment(telephone_prob=0, noise_snr_db=(30.0, 50.0), min_peak_db=-6,
                    max_peak_db=-6)(tone, g)
    speech = tone / tone.abs().amax(-1, keepdim=True) * 10 ** (-6 / 20)
    snr = 10 * torch.log10(speech.pow(2).mean(-1) / (noisy - speech).pow(2).mean(-1))
    assert (snr > 28).all() and (snr < 52).all() and snr.std() > 2
    lpcnet = Augment(**AUGMENTATIONS["lpcnet"])(tone, g)
    assert torch.isfinite(lpcnet).all() and lpcnet.abs().max() < 1


def test_split_is_by_speaker_and_stable(tmp_path):
    utts = make_corpus(tmp_path, 12)
    a, b = split_by_speaker(utts, 0.5)
    assert {u.speaker for u in a}.isdisjoint({u.speaker for u in b})
    assert split_by_speaker(utts, 0.5) == (a, b)


def test_extra_sources_add_training_files_only(tmp_path):
    main = make_corpus(tmp_path / "main", 12)
    extra = make_corpus(tmp_path / "extra", 12)
    for u in extra:
        u.speaker = "extra-" + u.speaker
    train, held = split_sources(main, [extra], 0.5)
    extra_train, extra_held = split_by_speaker(extra, 0.5)
    assert held == split_by_speaker(main, 0.5)[1]  # selection is on the main source alone
    assert train == split_by_speaker(main, 0.5)[0] + extra_train
    assert extra_held and not set(map(id, extra_held)) & set(map(id, train))


def test_a_few_steps_resume_and_export(tmp_path):
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=2, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=2,
                      warmup_steps=1)
    run = tmp_path / "run"
    trainer = Trainer(run, corpus, corpus, cfg, TINY)
    trainer.run()
    assert (run / "checkpoint.pt").exists() and (run / "best" / "codec.pt").exists()
    assert json.loads((run / "best" / "recipe.json").read_text()) == \
        {"batch_size": 2, "crop_seconds": 0.2, "warmup_steps": 1}  # train/recipe.py
    header = (run / "train.csv").read_text().splitlines()[0]
    for name in ("mel/loss", "stft/sc", "vq/commit", "vq/perplexity_mean", "opt/lr"):
        assert name in header
    assert "valid/log_mel@6" in (run / "valid.csv").read_text()
    if importlib.util.find_spec("pystoi"):  # in the eval extra, not the test one
        assert f"valid/stoi@{min(TINY.bitrates):g}" in (run / "valid.csv").read_text()
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    # a new trainer on the same run directory resumes at step 2 and goes on to step 3
    again = Trainer(run, corpus, corpus, TrainConfig(**{**cfg.__dict__, "steps": 3}), TINY)
    assert again.step == 2
    for k, v in again.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    again.run()
    assert again.step == 3
    exported = load_model(run / "best")
    assert exported.config == TINY
    x = torch.from_numpy(speech_like(0.5))
    assert np.isfinite(exported.decode(exported.encode(x)).numpy()).all()


@needs_shared
def test_shared_manifest_reads():
    utts = list_utterances(SHARED / "data" / "train.tsv")
    assert len(utts) > 1000 and all(u.path.exists() for u in utts[:20])


@pytest.mark.parametrize("disc", ["full", "cheap", "multi"])
def test_adversarial_step_trains_both_sides(tmp_path, disc):
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=1, batch_size=2, crop_seconds=0.2, warmup_steps=1, adv_weight=1.0,
                      valid_items=2, disc=disc)
    trainer = Trainer(tmp_path / "run", corpus, corpus, cfg, TINY)
    disc = trainer.adversary.disc
    disc_before = [p.clone() for p in disc.parameters()]
    terms = trainer.train_step()
    for name in ("adv/gen", "adv/feat", "adv/disc"):
        assert np.isfinite(terms[name]), name
    assert any(not torch.equal(a, b) for a, b in zip(disc_before, disc.parameters()))


def test_adversarial_terms_can_leave_the_lowest_bitrate_out(tmp_path):
    """``adv_above_kbps``: items trained at or below it reach neither the discriminator nor the
    generator's adversarial terms (here every item is drawn at 1.5 kbps)."""
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    seen = []
    for above in (0.0, 1.5):
        cfg = TrainConfig(steps=1, batch_size=4, crop_seconds=0.2, warmup_steps=1,
                          adv_weight=1.0, valid_items=2, bitrate_decay=1e-9,
                          adv_above_kbps=above)
        trainer = Trainer(tmp_path / f"run{above}", corpus, corpus, cfg, TINY)
        disc = trainer.adversary.disc
        disc_before = [p.clone() for p in disc.parameters()]
        terms = trainer.train_step()
        seen.append(("adv/gen" in terms, any(not torch.equal(a, b) for a, b in
                                             zip(disc_before, disc.parameters()))))
    assert seen == [(True, True), (False, False)]


def test_init_from_a_model_of_another_shape_keeps_what_fits(tmp_path):
    from dataclasses import replace

    from codec.model import save_model
    from codec.train.transplant import transplant

    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=1, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=1,
                      warmup_steps=1)
    first = replace(TINY, code_dim=0, kernel_factors=(2, 2))  # the first shipped shape
    Trainer(tmp_path / "a", corpus, corpus, cfg, first).run()
    saved = load_model(tmp_path / "a" / "best")
    reshaped = replace(TINY, code_dim=4, kernel_factors=(2, 1))
    trainer = Trainer(tmp_path / "b", corpus, corpus, cfg, reshaped, tmp_path / "a" / "best")
    model = trainer.model
    assert model.config == reshaped
    src, dst = saved.state_dict(), model.state_dict()
    torch.testing.assert_close(dst["encoder.0.conv.weight"], src["encoder.0.conv.weight"])
    # encoder's last strided conv: kernel 16 -> 8 keeps the 8 newest taps; decoder's first
    # transposed conv keeps the 8 taps inside the frame
    enc_name = "encoder.8.conv.weight"
    assert src[enc_name].shape[2] == 16 and dst[enc_name].shape[2] == 8
    torch.testing.assert_close(dst[enc_name], src[enc_name][..., 8:])
    dec_name = "decoder.3.conv.weight"
    assert src[dec_name].shape[2] == 16 and dst[dec_name].shape[2] == 8
    torch.testing.assert_close(dst[dec_name], src[dec_name][..., :8])
    assert not any(bool(lvl.initialised) for lvl in model.quantizer.levels)
    trainer.run()  # the first batch initialises the new codebooks; training goes on
    assert all(bool(lvl.initialised) for lvl in trainer.model.quantizer.levels)
    save_model(trainer.model.eval(), tmp_path / "c")
    assert load_model(tmp_path / "c").config == reshaped
    assert transplant(saved, load_model(tmp_path / "a" / "best")) == []


def test_list_audio_files_folder_and_manifest(tmp_path):
    from codec.runtime.audio import list_audio_files
    for name in ("b.flac", "a.wav", "sub/c.ogg", "notes.txt", "sub/d.mp3"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert list_audio_files(tmp_path) == [tmp_path / "a.wav", tmp_path / "b.flac",
                                          tmp_path / "sub" / "c.ogg"]
    assert list_audio_files(tmp_path, recursive=False) == [tmp_path / "a.wav", tmp_path / "b.flac"]
    (tmp_path / "m.tsv").write_text("path\tspeaker\nsub/c.ogg\tx\n\na.wav\ty\n")
    assert list_audio_files(tmp_path / "m.tsv") == [tmp_path / "sub" / "c.ogg", tmp_path / "a.wav"]


def test_level_loss_is_the_level_error_in_nepers():
    from codec.train.losses import level_loss

    torch.manual_seed(0)
    x = torch.randn(3, 1, 8000) * 0.1
    assert float(level_loss(x, x)) < 1e-6
    for gain in (2.0, 0.5):  # +-6 dB: power ratio 4 or 1/4, |ln| the same
        assert abs(float(level_loss(gain * x, x)) - np.log(4)) < 1e-4
    y = x.clone().requires_grad_()
    level_loss(0.5 * y, x).backward()
    assert float((y.grad * y.detach()).sum()) < 0  # too quiet: the gradient raises the level


def test_bitrate_decay_favours_the_low_bitrates():
    gen = torch.Generator().manual_seed(0)
    uniform = torch.bincount(bitrate_picks(8000, 4, 1.0, gen), minlength=4) / 8000
    favoured = torch.bincount(bitrate_picks(8000, 4, 0.5, gen), minlength=4) / 8000
    torch.testing.assert_close(uniform, torch.full((4,), 0.25), atol=0.02, rtol=0)
    expected = torch.tensor([8.0, 4, 2, 1]) / 15
    torch.testing.assert_close(favoured, expected, atol=0.02, rtol=0)


def test_the_scored_bitrates_follow_the_models_list():
    """Held-out scores (train/validation.py): STOI at the lowest bitrate, WB-PESQ between the
    lowest and the highest, selection at the highest of those: 3 and 6 kbps, selection at 6, for
    the shipped list (the valid.csv columns that scripts/plot_curves.py reads)."""
    from codec.train.validation import scored_bitrates
    shipped = scored_bitrates((1.5, 3.0, 6.0, 9.0))
    assert (shipped.stoi, shipped.quality, shipped.select) == (1.5, (3.0, 6.0), 6.0)
    wide = scored_bitrates((3.0, 6.0, 9.0))  # a 160-sample hop: 1 kbps a codebook
    assert (wide.stoi, wide.quality, wide.select) == (3.0, (6.0,), 6.0)
    two = scored_bitrates((1.5, 3.0))
    assert (two.stoi, two.quality, two.select) == (1.5, (1.5, 3.0), 3.0)


def test_weight_average_moves_by_one_minus_decay_and_swaps_back():
    from codec.train.averaging import WeightAverage
    net = torch.nn.Linear(3, 2)
    avg = WeightAverage(net, 0.75)
    start = {n: p.detach().clone() for n, p in net.named_parameters()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    avg.update(net)
    for n, p in net.named_parameters():
        assert torch.allclose(avg.average[n], start[n] + 0.25)
        own = p.detach().clone()
        with avg.swapped_in(net):
            assert torch.equal(dict(net.named_parameters())[n], avg.average[n])
        assert torch.equal(p, own)


def test_training_with_a_weight_average_scores_it_and_resumes_it(tmp_path):
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=2, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=2,
                      warmup_steps=1, ema=0.5)
    run = tmp_path / "run"
    trainer = Trainer(run, corpus, corpus, cfg, TINY)
    trainer.run()
    assert "valid/log_mel@6" in (run / "valid_average.csv").read_text()
    last = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    assert any(not torch.equal(trainer.average.average[n], last[n]) for n in last)
    again = Trainer(run, corpus, corpus, TrainConfig(**{**cfg.__dict__, "steps": 3}), TINY)
    for n, t in trainer.average.average.items():
        assert torch.equal(again.average.average[n], t), n
    exported = load_model(run / "best")
    assert exported.config == TINY
    # a run without an average that turns it on starts it from its own weights, not the first
    plain = tmp_path / "plain"
    Trainer(plain, corpus, corpus, TrainConfig(**{**cfg.__dict__, "ema": 0.0}), TINY).run()
    late = Trainer(plain, corpus, corpus, TrainConfig(**{**cfg.__dict__, "steps": 3}), TINY)
    for n, p in late.model.named_parameters():
        assert torch.equal(late.average.average[n], p), n


def test_compressed_loss_takes_longer_windows():
    from codec.train.losses import CompressedSpectralLoss
    loss = CompressedSpectralLoss(16000, (320, 640, 1280, 2560))
    x = torch.randn(2, 1, 16000) * 0.1
    terms = loss(x + 0.01 * torch.randn_like(x), x)
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())
    with pytest.raises(ValueError):
        CompressedSpectralLoss(16000, (320,) * 6)


def _complex_reference(loss, pred, target):
    """The compressed loss written on complex spectra, as it was before its real-valued form:
    ``|X|^c``, ``X / |X|`` and the mel bank on ``|X|``."""
    mag = cplx = mel = 0.0
    for n_fft in loss.fft_sizes:
        s = [torch.stft(x.reshape(-1, x.shape[-1]), n_fft, n_fft // 4, return_complex=True,
                        window=getattr(loss, f"win{n_fft}")) for x in (pred, target)]
        m = [x.abs().clamp(min=loss.eps) for x in s]
        (mp, mt), (up, ut) = [x.pow(loss.power) for x in m], [x / a for x, a in zip(s, m)]
        lp, lt = (torch.log(x.transpose(-1, -2) @ getattr(loss, f"fb{n_fft}") + 1e-5) for x in m)
        w = getattr(loss, f"bw{n_fft}")
        energy = (w * mt.pow(2)).sum((-1, -2)).clamp(min=loss.eps)
        mel = mel + (lp - lt).abs().mean()
        mag = mag + ((w * (mp - mt).pow(2)).sum((-1, -2)) / energy).mean()
        cplx = cplx + ((w * (mt * (up - ut)).abs().pow(2)).sum((-1, -2)) / energy).mean()
    n = len(loss.fft_sizes)
    return {"cspec/mag": mag / n, "cspec/complex": cplx / n, "mel/loss": mel / n}


@pytest.mark.parametrize("compiled", [False, True])
def test_compressed_loss_equals_its_complex_form_with_gradients(compiled):
    """The real-valued terms (and their ``torch.compile`` fusion) give the values and gradients
    of the loss written on complex spectra, silent items included."""
    from codec.train.losses import CompressedSpectralLoss
    torch.manual_seed(0)
    loss = CompressedSpectralLoss(16000, (320, 640), weighting="erb")
    if compiled:
        loss.compile()
    target = torch.randn(3, 1, 4800) * 0.1
    target[1] = 0  # silent: the clamp at eps decides the phasor
    start = target + 0.05 * torch.randn_like(target)
    start[2] = 0
    got, want = (start.clone().requires_grad_() for _ in range(2))
    new, old = loss(got, target), _complex_reference(loss, want, target)
    for k in old:
        assert torch.allclose(new[k], old[k], rtol=1e-5, atol=1e-7), k
    sum(new.values()).backward()
    sum(old.values()).backward()
    assert torch.allclose(got.grad, want.grad, rtol=1e-4, atol=1e-6 * float(want.grad.abs().max()))


def test_erb_weighting_counts_a_low_tone_error_more_than_a_high_one():
    """A 150 Hz and a 5 kHz error of equal power weigh alike with linear bins; with ERB bins the
    low one weighs several times the high one, and more again with ERB to the power 2; held flat
    above 1 kHz, a 2 and a 5 kHz error weigh alike again. A silent output still scores 1 on all."""
    from codec.train.losses import CompressedSpectralLoss
    torch.manual_seed(0)
    x = torch.randn(2, 1, 16000) * 0.1
    t = torch.arange(16000) / 16000
    low, mid, high = (0.05 * torch.sin(2 * torch.pi * f * t) for f in (150, 2000, 5000))
    ratio = {}
    for name, weighting, power, flat in (("linear", "linear", 1.0, 0), ("erb", "erb", 1.0, 0),
                                         ("erb2", "erb", 2.0, 0), ("flat", "erb", 1.0, 1000)):
        loss = CompressedSpectralLoss(16000, weighting=weighting, erb_power=power,
                                      erb_flat_hz=flat)
        ratio[name] = float(loss(x + low, x)["cspec/mag"] / loss(x + high, x)["cspec/mag"])
        if name in ("erb", "flat"):
            ratio[name + "_mid"] = float(loss(x + mid, x)["cspec/mag"]
                                         / loss(x + high, x)["cspec/mag"])
        silent = loss(torch.zeros_like(x), x)
        assert abs(float(silent["cspec/complex"]) - 1) < 1e-4 and float(silent["cspec/mag"]) > 0.9
    assert 0.8 < ratio["linear"] < 1.25 and ratio["erb"] > 5 and ratio["erb2"] > 3 * ratio["erb"]
    assert ratio["erb_mid"] > 1.8 and 0.8 < ratio["flat_mid"] < 1.25
    assert 2 < ratio["flat"] < ratio["erb"]  # ERB(1000) / ERB(150) = 3.2
    with pytest.raises(ValueError):
        CompressedSpectralLoss(16000, weighting="bark")


def test_a_variant_of_a_saved_model_keeps_its_weights(tmp_path):
    from codec.config import CodecConfig
    from codec.model import build_codec, save_model
    from codec.train.transplant import load_variant
    assert CodecConfig.split_fields("search_beams=8,4,int8=true") == ["search_beams=8,4", "int8=true"]
    save_model(build_codec(TINY).eval(), tmp_path)
    plain, variant = load_variant(str(tmp_path)), load_variant(f"{tmp_path}:search_beams=4,2")
    assert variant.config == replace(TINY, search_beams=(4, 2)) and plain.config == TINY
    for (n, a), (_, b) in zip(plain.state_dict().items(), variant.state_dict().items()):
        assert torch.equal(a, b), n


def test_an_encoder_grown_a_long_window_starts_as_the_model_it_came_from(tmp_path):
    from codec.model import build_codec, save_model
    from codec.train.transplant import load_variant
    torch.manual_seed(0)
    tiny = replace(TINY, encoder="spectral", decoder="spectral", hop_size=320, width=16,
                   encoder_blocks=1, decoder_blocks=1)
    save_model(build_codec(tiny).eval(), tmp_path)
    plain, grown = load_variant(str(tmp_path)), load_variant(f"{tmp_path}:long_window=640")
    assert grown.encoder.net.inp.weight.shape[1] > plain.encoder.net.inp.weight.shape[1]
    x = torch.randn(1, 1, 8 * 320) * 0.1
    with torch.no_grad():
        assert torch.allclose(grown.encoder(x), plain.encoder(x), atol=1e-6)


@pytest.mark.parametrize("int8", [False, True])
def test_blocks_grown_a_wider_hidden_layer_start_as_the_model_they_came_from(tmp_path, int8):
    from codec.model import save_model
    from codec.train.transplant import load_variant
    torch.manual_seed(0)
    tiny = replace(TINY, encoder="spectral", decoder="spectral", hop_size=320, width=32,
                   encoder_blocks=1, decoder_blocks=1, expansion=2, int8=int8)
    save_model(build_codec(tiny).eval(), tmp_path)
    plain, grown = load_variant(str(tmp_path)), load_variant(f"{tmp_path}:expansion=4")
    up, down = grown.decoder.net.blocks[0].up, grown.decoder.net.blocks[0].down
    old_up = plain.decoder.net.blocks[0].up
    assert up.weight.shape[0] == 2 * old_up.weight.shape[0]
    assert torch.equal(up.weight[:64], old_up.weight)       # the old hidden units, kept
    assert up.weight[64:].abs().sum() > 0                   # new ones: random, not zero
    assert torch.equal(down.weight[:, 64:], torch.zeros_like(down.weight[:, 64:]))
    x = torch.randn(1, 1, 8 * 320) * 0.1
    with torch.no_grad():
        codes = plain.encode(x)
        assert torch.equal(grown.encode(x), codes)
        torch.testing.assert_close(grown.decode(codes), plain.decode(codes), atol=0, rtol=0)
    # the new units learn: their output weights get a gradient at once
    grown.train()
    grown.decoder(grown.quantizer.decode(codes)).square().mean().backward()
    assert down.weight.grad[:, 64:].abs().sum() > 0


@pytest.mark.parametrize("int8", [False, True])
def test_a_model_grown_a_decoder_block_starts_as_the_model_it_came_from(tmp_path, int8):
    from codec.model import save_model
    from codec.train.transplant import load_variant
    torch.manual_seed(0)
    tiny = replace(TINY, encoder="spectral", decoder="spectral", hop_size=320, width=32,
                   encoder_blocks=1, decoder_blocks=1, int8=int8)
    save_model(build_codec(tiny).eval(), tmp_path)
    plain, grown = load_variant(str(tmp_path)), load_variant(f"{tmp_path}:decoder_blocks=2")
    new = grown.decoder.net.blocks[1]
    assert len(grown.decoder.net.blocks) == 2 and torch.equal(new.scale, torch.zeros_like(new.scale))
    x = torch.randn(1, 1, 8 * 320) * 0.1
    with torch.no_grad():
        codes = plain.encode(x)
        torch.testing.assert_close(grown.decode(codes), plain.decode(codes), atol=0, rtol=0)
    # the new block opens: its layer scale gets a gradient at once
    grown.train()
    grown.decoder(grown.quantizer.decode(codes)).square().mean().backward()
    assert new.scale.grad.abs().sum() > 0


def test_coarse_commit_weight_scales_the_commitment_of_the_lowest_bitrates_levels(tmp_path):
    """``coarse_commit_weight``: the levels of the lowest bitrate (3 of 18 here) count that many
    times in ``vq/commit``; 1 is the plain mean over levels."""
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    logged = {}
    for w in (1.0, 5.0):
        cfg = TrainConfig(steps=1, batch_size=2, crop_seconds=0.2, warmup_steps=1,
                          valid_items=2, coarse_commit_weight=w)
        trainer = Trainer(tmp_path / f"run{w}", corpus, corpus, cfg, TINY)
        assert trainer.losses.commit_weights.tolist() == [w] * 3 + [1.0] * 15
        logged[w] = trainer.train_step()["vq/commit"]
    q = build_codec(TINY).train().quantizer(torch.randn(2, TINY.dim, 5))
    torch.testing.assert_close(q.level_commits.mean(), q.commit_loss)
    assert logged[5.0] > logged[1.0] > 0


def test_bf16_steps_train_a_spectral_int8_model_with_a_float32_code_search(tmp_path):
    """``--bf16``: the forward passes run under CPU bfloat16 autocast, the parameters and their
    gradients stay float32, and the quantizer searches in float32 as the runtime does."""
    config = replace(TINY, encoder="spectral", decoder="spectral", hop_size=320, width=16,
                     encoder_blocks=1, decoder_blocks=2, int8=True)
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=2, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=2,
                      warmup_steps=1, bf16=True, ema=0.9)
    trainer = Trainer(tmp_path / "run", corpus, corpus, cfg, config)
    before = {k: v.clone() for k, v in trainer.model.named_parameters()}
    trainer.run()
    for name, p in trainer.model.named_parameters():
        assert p.dtype == torch.float32, name
    assert any(not torch.equal(p, before[k]) for k, p in trainer.model.named_parameters())
    z = torch.randn(2, config.dim, 5)
    quantizer = trainer.model.quantizer.eval()
    with torch.autocast("cpu", torch.bfloat16):
        mixed = quantizer(z)
    plain = quantizer(z)
    assert mixed.quantized.dtype == torch.float32
    assert torch.equal(mixed.codes, plain.codes)


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    from codec.train.build import cpu_has_native_bf16

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert cpu_has_native_bf16(str(info)) is False
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n")
    assert cpu_has_native_bf16(str(info)) is True
    assert cpu_has_native_bf16(str(tmp_path / "absent")) is None
