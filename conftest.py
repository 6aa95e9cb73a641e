"""The names every doctest may use without importing them: jax, jnp and jr."""

import jax
import jax.numpy as jnp
import pytest

import jaxreparam as jr


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(jax=jax, jnp=jnp, jr=jr)
