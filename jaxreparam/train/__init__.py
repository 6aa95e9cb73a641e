"""Fitting with optax: ``fit`` and ``make_step``, ``vi`` guides, checkpoints, meshes.

* :func:`fit` (``jr.fit``) runs a pure optax step under ``jax.lax.scan`` in
  compiled chunks, with progress between chunks, a callback every N steps,
  minibatches, validation and early stopping, exact resumption and a mesh of
  devices; :func:`make_step` is the step alone, for your own loop.
* :mod:`~jaxreparam.train.vi`: Gaussian guides over a pytree of constrained
  latents (ADVI), fitted by the same loop.
* :mod:`~jaxreparam.train.checkpoint`: save and load params and optimizer state.
* :mod:`~jaxreparam.train.parallel`: the shardings ``fit`` uses on a mesh.
"""

from jaxreparam.train import checkpoint, parallel, vi
from jaxreparam.train._fit import FitResult, fit
from jaxreparam.train._step import make_step

__all__ = ["FitResult", "checkpoint", "fit", "make_step", "parallel", "vi"]
