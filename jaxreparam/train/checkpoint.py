"""Saving and loading pytrees (params, optimizer states) as ``.npz`` files.

A file holds the leaves of the pytree, in ``jax.tree.leaves`` order, as numpy
arrays named ``leaf_00000``, ``leaf_00001``, ..., and the tree structure's text
for a consistency check. The structure itself is not stored: :func:`load` takes
a *template*, a pytree of the same structure (the initial params, or
``optimizer.init(params)``), and rebuilds the tree from it, so a file holds data
only, never pickled code, and loads with ``allow_pickle=False``.

To save and resume a fit::

    import jaxreparam as jr

    result = jr.fit(key, params, loss=loss, optimizer=opt, num_steps=200)
    jr.checkpoint.save("fit.npz", (result.params, result.opt_state, result.step))
    template = (params, opt.init(params), 0)
    params, opt_state, step = jr.checkpoint.load("fit.npz", template)
    more = jr.fit(key, params, loss=loss, optimizer=opt, num_steps=200,
                  opt_state=opt_state, start_step=step)

The resumed fit equals an uninterrupted one bit for bit (see ``jr.fit``).

Typed PRNG keys are stored as their key data and rebuilt with the template's
implementation; Python scalars come back as Python scalars. Arrays sharded
across hosts must be replicated (as fitted params and optimizer states are);
each process holds a full copy, and one of them writes the file.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["load", "save"]

_STRUCTURE = "structure"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key
    )


def _to_numpy(x: Any) -> np.ndarray:
    if _is_key(x):
        x = jax.random.key_data(x)
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        if not x.sharding.is_fully_replicated:
            raise ValueError(
                "checkpoint.save: an array sharded across hosts is not replicated; "
                "gather it first (jax.experimental.multihost_utils.process_allgather)"
            )
        x = x.addressable_data(0)
    return np.asarray(x)


def save(path: str | os.PathLike, tree: Any) -> None:
    """Writes the leaves of ``tree`` to the ``.npz`` file ``path``.

    Args:
        path: the file; numpy appends ``.npz`` if it lacks the suffix.
        tree: any pytree of arrays, numpy arrays, Python scalars or typed keys
            (params, an optax state, a tuple of both and a step count).

    Examples:
        >>> import os, tempfile, optax, jax.numpy as jnp
        >>> import jaxreparam as jr
        >>> params = {"w": jnp.ones(3)}
        >>> state = optax.adam(0.1).init(params)
        >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
        >>> jr.checkpoint.save(path, (params, state, 7))
        >>> _, _, step = jr.checkpoint.load(path, (params, state, 0))
        >>> step
        7
    """
    leaves, structure = jax.tree.flatten(tree)
    arrays: dict[str, Any] = {
        f"leaf_{i:05d}": _to_numpy(x) for i, x in enumerate(leaves)
    }
    arrays[_STRUCTURE] = np.array(str(structure))
    np.savez(path, **arrays)


def load(path: str | os.PathLike, template: Any) -> Any:
    """Reads a pytree written by :func:`save`, shaped like ``template``.

    Args:
        path: the ``.npz`` file.
        template: a pytree with the structure, shapes and dtypes of the saved
            one; its values are not used.

    Returns:
        The saved pytree, with ``jax.Array`` leaves where the template has
        arrays, typed keys where it has typed keys, and Python scalars where
        it has Python scalars.

    Raises:
        ValueError: the file's tree structure, a leaf's shape or its dtype
            differs from the template's.

    Examples:
        >>> import os, tempfile, optax
        >>> params = {"w": jnp.arange(3.0)}
        >>> state = optax.adam(0.1).init(params)
        >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
        >>> jr.checkpoint.save(path, (params, state, 7))
        >>> params, state, step = jr.checkpoint.load(path, (params, state, 0))
        >>> params["w"].tolist(), step
        ([0.0, 1.0, 2.0], 7)
    """
    leaves, structure = jax.tree.flatten(template)
    with np.load(path, allow_pickle=False) as file:
        saved = str(file[_STRUCTURE]) if _STRUCTURE in file else None
        if saved != str(structure):
            raise ValueError(
                f"checkpoint.load: {os.fspath(path)} holds a tree of structure "
                f"{saved}, but the template has {structure}"
            )
        arrays = [file[f"leaf_{i:05d}"] for i in range(len(leaves))]
    return jax.tree.unflatten(
        structure,
        [
            _restore(i, t, a)
            for i, (t, a) in enumerate(zip(leaves, arrays, strict=True))
        ],
    )


def _restore(index: int, template: Any, array: np.ndarray) -> Any:
    """The saved ``array`` as the kind of leaf ``template`` is."""
    if isinstance(template, bool | int | float | complex):
        return type(template)(array.item())
    expected = _to_numpy(template) if _is_key(template) else template
    shape = np.shape(expected)
    dtype = expected.dtype if hasattr(expected, "dtype") else np.asarray(expected).dtype
    if array.shape != shape or array.dtype != dtype:
        raise ValueError(
            f"checkpoint.load: leaf {index} has shape {array.shape} and dtype "
            f"{array.dtype}, but the template's has shape {shape} and dtype {dtype}"
        )
    if _is_key(template):
        return jax.random.wrap_key_data(
            jnp.asarray(array), impl=jax.random.key_impl(template)
        )
    if isinstance(template, np.ndarray | np.generic):
        return array
    return jnp.asarray(array)
