"""scripts/export_checkpoint.py: a run's checkpoint exported as a saved model holds the run's
last (or averaged) weights at the checkpoint's step, loads, and runs; a run without a weight
average refuses to export one."""

import json
import sys

import numpy as np
import torch

from codec.model import load_model
from codec.train.data import SpeechCorpus
from codec.train.loop import TrainConfig, Trainer

from conftest import ROOT, TINY, speech_like
from test_train import make_corpus

sys.path.insert(0, str(ROOT / "scripts"))
import export_checkpoint  # noqa: E402


def test_last_and_averaged_weights_export_at_the_checkpoints_step(tmp_path, capsys):
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=3, batch_size=2, crop_seconds=0.2, log_every=1, eval_every=2,
                      warmup_steps=1, ema=0.5, valid_items=2)
    trainer = Trainer(tmp_path / "run", corpus, corpus, cfg, TINY)
    trainer.run()  # best/ at step 2 at the latest, checkpoint.pt at step 3
    for weights in ("last", "average"):
        out = tmp_path / weights
        assert export_checkpoint.main([str(tmp_path / "run"), "--weights", weights,
                                       "--out", str(out)]) == 0
        model = load_model(out)
        want = dict(trainer.model.named_parameters()) if weights == "last" else \
            trainer.average.average
        for name, p in model.named_parameters():
            assert torch.equal(p, want[name].detach()), name
        training = json.loads((out / "config.json").read_text())["training"]
        assert training["step"] == 3 and training["weights"] == weights
        assert "select" not in training and training["batch_size"] == 2
        x = torch.from_numpy(speech_like(0.5))
        assert np.isfinite(model.decode(model.encode(x)).numpy()).all()
    assert load_model(tmp_path / "last").model_id != load_model(tmp_path / "average").model_id

    plain = tmp_path / "plain"
    Trainer(plain, corpus, corpus, TrainConfig(**{**cfg.__dict__, "ema": 0.0}), TINY).run()
    assert export_checkpoint.main([str(plain), "--out", str(tmp_path / "x")]) == 1
    assert "no weight average" in capsys.readouterr().err
