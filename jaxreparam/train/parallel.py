"""Data parallelism on JAX's own sharding: a mesh, and the batch split along it.

The fitting loop runs data-parallel when given a ``jax.sharding.Mesh``: params
and optimizer state are replicated on every device, and the leading axis of the
minibatch and of the Monte Carlo draws is split across all the mesh's devices.
Nothing here communicates by hand: the shardings are annotations
(``NamedSharding`` on inputs, ``jax.lax.with_sharding_constraint`` inside), and
``jax.jit`` inserts the reductions that the sums over the batch need.

:func:`shard_leading` is the one annotation a loss needs. It reads the mesh from
``jax.set_mesh`` (which ``fit`` sets while it traces), so the same loss runs
unchanged on one device, where it does nothing.
"""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

__all__ = ["auto_mesh", "batch_sharding", "replicated", "shard_leading"]


def auto_mesh(mesh: Mesh) -> Mesh:
    """``mesh`` with every axis of type ``Auto``, on the same devices.

    ``jax.make_mesh`` makes ``Explicit`` axes, under which array types carry
    their sharding and operations such as a gather from a replicated data set
    with sharded indices must be annotated by hand. The fitting loop lets the
    compiler propagate shardings instead, so it works on an ``Auto`` mesh.
    """
    if all(t == AxisType.Auto for t in mesh.axis_types):
        return mesh
    return Mesh(
        mesh.devices,
        mesh.axis_names,
        axis_types=(AxisType.Auto,) * len(mesh.axis_names),
    )


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split across every device of ``mesh``, the rest replicated."""
    return NamedSharding(mesh, PartitionSpec(tuple(mesh.axis_names)))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of ``mesh``."""
    return NamedSharding(mesh, PartitionSpec())


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
        >>> import jax.numpy as jnp
        >>> from jaxreparam.parallel import shard_leading
        >>> shard_leading(jnp.zeros(4)).shape  # no mesh set: unchanged
        (4,)
    """
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty:
        return tree
    spec = PartitionSpec(tuple(mesh.axis_names))
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, spec), tree)
