"""``invert``: a bijector with its forward and inverse swapped."""

from __future__ import annotations

from jaxreparam.base import Bijector
from jaxreparam.bijectors._chain import check_bijector


def invert(bijector: Bijector) -> Bijector:
    """The inverse of ``bijector``: its ``forward`` is ``bijector.inverse``.

    The params are ``bijector``'s. The usual use is an autoregressive layer:
    a masked autoregressive layer computes its inverse (the density
    direction) in one pass and its forward in one pass per coordinate (a
    MAF); inverted, it samples in one pass and evaluates a given point's
    density in one pass per coordinate (an IAF, Kingma et al. 2016).

    Args:
        bijector: a ``Bijector`` bundle.

    Returns:
        A ``Bijector`` named ``invert(<name>)``, conditional when ``bijector``
        is; ``invert(invert(b))`` computes what ``b`` computes.

    Raises:
        TypeError: ``bijector`` is not a ``Bijector``.

    Examples:
        >>> log = jr.bijectors.invert(jr.bijectors.exp)
        >>> y, log_det = log.forward(log.init(), jnp.e)
        >>> round(float(y), 4), round(float(log_det), 4)  # log e; -log e
        (1.0, -1.0)
    """
    check_bijector("bijectors.invert", "bijector", bijector)
    return Bijector(
        name=f"invert({bijector.name})",
        params_type=bijector.params_type,
        init=bijector.init,
        forward=bijector.inverse,
        inverse=bijector.forward,
        event_ndims=bijector.event_ndims,
        forward_shape=bijector.inverse_shape,
        inverse_shape=bijector.forward_shape,
        conditional=bijector.conditional,
    )
