"""A run's logs: one CSV per kind of row (``train.csv``, ``valid.csv``, ``valid_average.csv``),
its header from the first row's names, and TensorBoard when it is installed."""

from __future__ import annotations

import csv
from pathlib import Path


class RunLog:
    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # optional extra
            self.tensorboard = None
        else:
            self.tensorboard = SummaryWriter(str(self.run_dir / "tb"))

    def write(self, values: dict[str, float], step: int, name: str = "train") -> None:
        """Append ``values`` (a ``step`` column first) to ``name``.csv; each other value to
        TensorBoard at ``step``."""
        path = self.run_dir / f"{name}.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(values))
            if new:
                w.writeheader()
            w.writerow(values)
        if self.tensorboard is not None:
            for k, v in values.items():
                if k != "step":
                    self.tensorboard.add_scalar(k, v, step)
