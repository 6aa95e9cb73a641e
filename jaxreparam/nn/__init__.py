"""Small pure-JAX networks: a params pytree and an apply function, bundled.

A network is a ``Network`` bundle ``(init, apply)``: ``init(key) -> params``
(a pytree of arrays, so any optax optimizer trains it) and ``apply(params, x)
-> outputs``, batched over the leading axes of ``x``. No module classes, no
new runtime dependencies: the networks are conditioners of flow layers
(``jaxreparam.bijectors.coupling`` and ``masked_autoregressive``), and any
function ``(params, x) -> outputs`` (a flax or equinox network) can stand in
for them.

| network | what it is |
| --- | --- |
| ``mlp`` | a multilayer perceptron; the last layer starts at zero |
| ``masked_mlp`` | an autoregressive MLP (MADE, Germain et al. 2015) |
"""

from jaxreparam.nn._mlp import Linear, Network, masked_mlp, mlp

__all__ = ["Linear", "Network", "masked_mlp", "mlp"]
