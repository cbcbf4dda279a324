"""Training: data, losses and the loop (used by ``scripts/train.py``)."""
