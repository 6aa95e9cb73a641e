"""The names every doctest may use without importing them: jax, jnp and jr."""

import jax
import jax.numpy as jnp
import pytest

import jaxreparam as jr


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(jax=jax, jnp=jnp, jr=jr)


@pytest.fixture(autouse=True)
def _kl_registry_restored(request):
    """Restores the KL registry after each doctest.

    ``register_kl``'s example registers a pair of its own; ``tests/test_kl.py``,
    which may run after it in the same worker, must see the library's pairs only.
    """
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    saved = dict(jr.kl._KL)
    yield
    jr.kl._KL.clear()
    jr.kl._KL.update(saved)
