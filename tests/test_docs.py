"""The docs say what the shipped model and the code do (issue 27.17)."""

import json
import re

from conftest import ROOT

DOCS = ROOT / "docs"


def shipped() -> dict:
    return json.loads((ROOT / "codec" / "weights" / "config.json").read_text())


def test_architecture_names_the_shipped_kind_and_its_latency():
    meta = shipped()
    config = meta["config"]
    text = " ".join((DOCS / "ARCHITECTURE.md").read_text().split())
    kind = re.search(r"The shipped model \(\w+\) is the (\w+) kind", text)
    assert kind and kind.group(1) == config["encoder"] == config["decoder"]
    latency = re.search(r"The algorithmic latency is (\d+) ms", text)
    ms = (config["hop_size"] + meta["delay"]) * 1000 / config["sample_rate"]
    assert latency and int(latency.group(1)) == ms


def test_streaming_asks_for_torch_threads_only_for_the_eager_modules():
    for paragraph in (DOCS / "STREAMING.md").read_text().split("\n\n"):
        if "set_num_threads" in paragraph:
            assert "eager" in paragraph, paragraph


def test_the_training_recipe_knows_its_adversarial_losses():
    text = (DOCS / "TRAINING.md").read_text()
    assert "No adversarial loss" not in text and "`--adv-weight W`" in text
