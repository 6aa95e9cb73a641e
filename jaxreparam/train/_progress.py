"""Progress between chunks of a fit: a tqdm bar, or printed lines (private).

The rule for ``progress=None`` is numpyro's: a bar only when stdout is a
terminal and the ``CI`` environment variable is unset. Without tqdm, or
off a terminal when forced on, progress is printed as at most about ten lines.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np


def wanted(progress: bool | None) -> bool:
    """Whether to report: ``progress``, or by default a terminal outside CI."""
    if progress is None:
        return sys.stdout.isatty() and not os.environ.get("CI")
    return bool(progress)


class Progress:
    """Reports ``update(done, losses)`` after each chunk; ``close()`` at the end."""

    def __init__(self, progress: bool | None, total: int, desc: str = "fit") -> None:
        self.total, self.desc, self.bar, self.printed = total, desc, None, 0
        self.enabled = wanted(progress) and total > 0
        if self.enabled and sys.stdout.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar: Any = tqdm(total=total, desc=desc, file=sys.stdout)

    def update(self, done: int, losses: np.ndarray) -> None:
        """Reports ``done`` of ``total`` steps run; ``losses``: the last chunk's."""
        if not self.enabled:
            return
        mean = float(np.mean(losses)) if np.size(losses) else float("nan")
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(loss=f"{mean:.4g}")
        elif done * 10 >= (self.printed + 1) * self.total or done == self.total:
            self.printed = done * 10 // self.total
            print(
                f"{self.desc}: step {done:>7}/{self.total}  loss {mean:.6g}", flush=True
            )

    def close(self) -> None:
        """Closes the bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
