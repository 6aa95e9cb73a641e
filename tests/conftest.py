"""Shared test configuration: jax's key-reuse checker on, fixed keys."""

import jax
import pytest

jax.config.update("jax_debug_key_reuse", True)


@pytest.fixture
def key():
    return jax.random.key(0)
