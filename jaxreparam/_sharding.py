"""Sharding annotations for Monte Carlo draws and minibatches (private).

A low-level module, below the objectives and the fitting loop, so that both can
split their leading axes across the devices of the current mesh without the
objectives importing :mod:`jaxreparam.train`. Both functions read the mesh set
by ``jax.set_mesh`` (``jr.fit(..., mesh=...)`` sets it while it traces) and do
nothing without one, so a program traced outside a mesh is the same program as
if they were not there.
"""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import PartitionSpec


def shard_leading(tree: Any) -> Any:
    """Splits the leading axis of every leaf of ``tree`` across the current mesh.

    Inside ``jax.set_mesh(mesh)`` (``fit`` sets it when given ``mesh``), each
    leaf is constrained to be split along its leading axis over all of the
    mesh's devices; elsewhere ``tree`` is returned unchanged. Use it on the
    Monte Carlo draws of a loss, ``z = shard_leading(family.sample(key, params,
    (num_samples,)))``, so that each device evaluates its share of the draws;
    ``num_samples`` should then be a multiple of the number of devices.

    Args:
        tree: a pytree of arrays with a leading axis (of draws or examples).

    Returns:
        ``tree``, with sharding annotations when a mesh is set.

    Examples:
        >>> import jax.numpy as jnp, jaxreparam as jr
        >>> jr.parallel.shard_leading(jnp.zeros(4)).shape  # no mesh: unchanged
        (4,)
    """
    return shard_draws(tree, 1)


def shard_draws(tree: Any, num_axes: int) -> Any:
    """Splits one of the ``num_axes`` leading axes of every leaf across the mesh.

    The axis split is the first of the leading ``num_axes`` whose size is a
    multiple of the number of devices, else the largest of them (an IWAE's
    draws have the axes ``(num_estimates, num_samples)``, and
    ``num_estimates`` is often 1). Every leaf must share those leading sizes.
    Without a mesh, ``tree`` is returned unchanged.

    Args:
        tree: a pytree of arrays sharing ``num_axes`` leading axes of draws.
        num_axes: how many leading axes are axes of draws, ``>= 1``.

    Returns:
        ``tree``, with sharding annotations when a mesh is set.
    """
    mesh = jax.sharding.get_abstract_mesh()
    leaves = jax.tree.leaves(tree)
    if mesh.empty or not leaves:
        return tree
    sizes = jax.numpy.shape(leaves[0])[:num_axes]
    if not sizes:
        return tree
    divisible = [i for i, size in enumerate(sizes) if size % mesh.size == 0]
    axis = divisible[0] if divisible else max(range(len(sizes)), key=sizes.__getitem__)
    spec = PartitionSpec(*([None] * axis), tuple(mesh.axis_names))
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, spec), tree)
