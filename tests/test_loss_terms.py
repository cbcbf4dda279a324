"""The training loss comes from one table of weights (codec/train/loss_terms.py): a function runs
only when one of its terms weighs something, and the total is the weighted sum of the terms."""

import subprocess
import sys

import pytest
import torch

from codec.train.data import SpeechCorpus
from codec.train.loop import TrainConfig, Trainer
from codec.train.loss_terms import Batch, LossTerms, loss_weights

from conftest import TINY
from test_train import make_corpus


def batch(seed: int = 0) -> Batch:
    torch.manual_seed(seed)
    wav = torch.randn(2, 1, 3200) * 0.1
    recon = (wav + 0.05 * torch.randn_like(wav)).requires_grad_()
    return Batch(wav, recon, None, torch.tensor([3, 18]), step=0)


def test_a_term_weighing_nothing_is_not_computed_and_a_new_one_is_one_entry():
    cfg = TrainConfig(recon_loss="compressed", cmag_weight=0.5, cplx_weight=0.0, level_weight=0.0)
    losses = LossTerms(cfg, TINY, torch.device("cpu"))
    calls = []

    def extra(b: Batch) -> dict[str, torch.Tensor]:
        calls.append(b.step)
        return {"extra/l1": (b.recon - b.wav).abs().mean()}

    losses.table.append((extra, ("extra/l1",)))
    losses.weights["extra/l1"] = 0.0
    b = batch()
    total, terms = losses(b)
    assert calls == [] and "extra/l1" not in terms
    assert "level/loss" not in terms and "coef/mse" not in terms and losses.coef_loss is None
    # computed with mel/loss by the same function, so logged, but not added
    assert "cspec/complex" in terms
    want = terms["mel/loss"] + 0.5 * terms["cspec/mag"] + cfg.commit_weight * terms["vq/commit"]
    torch.testing.assert_close(total, want)

    losses.weights["extra/l1"] = 3.0
    total_with, terms = losses(b)
    assert calls == [0] and "extra/l1" in terms
    torch.testing.assert_close(total_with, total + 3.0 * terms["extra/l1"])
    total_with.backward()
    assert b.recon.grad.abs().sum() > 0


@pytest.mark.parametrize("recon_loss", ["mrstft", "compressed"])
def test_the_logged_total_is_the_weighted_sum_of_the_logged_terms(tmp_path, recon_loss):
    corpus = SpeechCorpus(make_corpus(tmp_path / "data"))
    cfg = TrainConfig(steps=1, batch_size=2, crop_seconds=0.2, warmup_steps=1, valid_items=2,
                      recon_loss=recon_loss, cmag_weight=0.7, cplx_weight=0.2, stft_weight=0.4,
                      level_weight=0.3, commit_weight=2.0)
    trainer = Trainer(tmp_path / "run", corpus, corpus, cfg, TINY)
    logged = trainer.train_step()
    weights = loss_weights(cfg)
    assert weights == trainer.losses.weights
    weighted = [weights[k] * v for k, v in logged.items() if k in weights]
    assert len(weighted) == 5 and "level/loss" in logged and "coef/mse" not in logged
    assert logged["loss/total"] == pytest.approx(sum(weighted), rel=1e-5)


def test_importing_the_trainer_reads_no_model_file():
    """The losses' defaults read the shipped config when used, not at import (issue 28.7)."""
    code = ("import codec.runtime.store as store\n"
            "def refuse(*args): raise AssertionError(f'read at import: {args}')\n"
            "store.read_meta = refuse\n"
            "import codec.train.loop, codec.train.losses\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
