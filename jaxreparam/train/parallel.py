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

from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jaxreparam._sharding import shard_leading

__all__ = ["auto_mesh", "batch_sharding", "replicated", "shard_leading"]


def auto_mesh(mesh: Mesh) -> Mesh:
    """``mesh`` with every axis of type ``Auto``, on the same devices.

    ``jax.make_mesh`` makes ``Explicit`` axes, under which array types carry
    their sharding and operations such as a gather from a replicated data set
    with sharded indices must be annotated by hand. The fitting loop lets the
    compiler propagate shardings instead, so it works on an ``Auto`` mesh.

    Examples:
        >>> mesh = jax.make_mesh((len(jax.devices()),), ("data",))
        >>> [t.name for t in jr.parallel.auto_mesh(mesh).axis_types]
        ['Auto']
    """
    if all(t == AxisType.Auto for t in mesh.axis_types):
        return mesh
    return Mesh(
        mesh.devices,
        mesh.axis_names,
        axis_types=(AxisType.Auto,) * len(mesh.axis_names),
    )


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading axis split across every device of ``mesh``, the rest replicated.

    Examples:
        >>> mesh = jax.make_mesh((len(jax.devices()),), ("data",))
        >>> mesh = jr.parallel.auto_mesh(mesh)
        >>> sharding = jr.parallel.batch_sharding(mesh)
        >>> sharding.spec == jax.sharding.PartitionSpec(("data",))  # rows split
        True
        >>> jax.device_put(jnp.zeros((8, 3)), sharding).shape
        (8, 3)
    """
    return NamedSharding(mesh, PartitionSpec(tuple(mesh.axis_names)))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of ``mesh``.

    Examples:
        >>> mesh = jax.make_mesh((len(jax.devices()),), ("data",))
        >>> mesh = jr.parallel.auto_mesh(mesh)
        >>> params = jax.device_put({"w": jnp.zeros(3)}, jr.parallel.replicated(mesh))
        >>> params["w"].sharding.is_fully_replicated
        True
    """
    return NamedSharding(mesh, PartitionSpec())
