"""Variational objectives: the ELBO, IWAE and the variational Renyi bound.

Each objective takes a variational family with its params and an unnormalized
``log_target(z)`` (``log p(x, z)`` for the data ``x`` at hand), and returns a
Monte Carlo estimate of a lower bound on ``log Z = log int exp(log_target)``,
as a surrogate whose ``jax.grad`` is a gradient estimate of that bound. The
sign is in the name: ``elbo``, ``iwae`` and ``renyi_bound`` are *maximised*;
the factories ``make_*_loss`` return their negatives, *minimised*.

* ``elbo``: ``E_q[log_target(z) - log q(z)]``; or, with ``prior`` params that
  have an analytic KL against ``q``, ``E_q[log_target(z)] - KL(q || prior)``
  with ``log_target`` the log-likelihood ``log p(x | z)``.
* ``iwae``: ``E[log (1/K) sum_k w_k]``, ``w_k = exp(log_target(z_k)) /
  q(z_k)`` over ``K = num_samples`` draws (Burda et al. 2016).
* ``renyi_bound``: ``E[1/(1 - alpha) log (1/K) sum_k w_k^(1 - alpha)]`` (Li &
  Turner 2016): IWAE at ``alpha = 0``, the ELBO as ``alpha -> 1``.

The gradient is chosen by two options. ``estimator`` is any estimator of
``E_q[f(z)]`` with the signature of :mod:`jaxreparam.estimators`
(``estimators.pathwise``, the default, or ``estimators.score_function``, ...);
for the bounds over ``K`` draws it sees the ``K`` draws as one. ``gradient``
selects ``"standard"`` (the full gradient), ``"stl"`` (sticking the landing,
Roeder et al. 2017: the params are stopped inside ``log q``, the draws still
reparameterized, so the score term is dropped) or, for IWAE and the Renyi
bound, ``"dreg"`` (doubly reparameterized, Tucker et al. 2019). STL is unbiased
for the ELBO and biased for ``K > 1``; DReG is unbiased for every ``K``.

What ``log_target`` closes over (a decoder, say) gets the usual gradient from
every option; ``"stl"`` and ``"dreg"`` change only the params' gradient. For
amortized inference, call an objective on ``encoder(x)``'s params under
``jax.vmap`` over the data, or use :func:`make_amortized_loss`.
"""

from jaxreparam.objectives._bounds import (
    elbo,
    iwae,
    make_amortized_loss,
    make_elbo_loss,
    make_iwae_loss,
    make_renyi_loss,
    renyi_bound,
)

__all__ = [
    "elbo",
    "iwae",
    "make_amortized_loss",
    "make_elbo_loss",
    "make_iwae_loss",
    "make_renyi_loss",
    "renyi_bound",
]
