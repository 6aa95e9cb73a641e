"""Variational objectives: the ELBO, IWAE and the variational Renyi bound.

Each objective takes a variational family with its params and an unnormalized
``log_target(z)`` (``log p(x, z)`` for the data ``x`` at hand), and returns a
Monte Carlo estimate of a lower bound on ``log Z = log int exp(log_target)``,
as a surrogate whose ``jax.grad`` is a gradient estimate of that bound. The
sign is in the name: ``elbo``, ``iwae`` and ``renyi_bound`` are *maximised*;
the factories ``make_*_loss`` return their negatives, *minimised*.

**One argument order**, the estimators' (:mod:`jaxreparam.estimators`): the key
first, then the params, then the family, then the function, then keyword-only
options::

    objective(key, params, family, log_target, *, num_samples=1, ...)
    estimator(key, params, family, f, *, num_samples=1, ...)

and the losses the factories return are ``loss(key, params)``, or
``loss(key, params, batch)`` for data, differentiated with ``argnums=1``.

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

**Minibatches.** Given ``log_prior(z)``, a per-data-point
``log_likelihood(z, x)`` and the data set's size ``num_data`` instead of
``log_target``, the factories return ``loss(key, params, batch)`` whose target
scales the batch's log-likelihood by ``num_data / batch_size`` (the prior
not): for ``jr.fit(..., batch_size=...)``.

**Devices.** Under a mesh (``jax.set_mesh``, which ``jr.fit(..., mesh=...)``
sets), the Monte Carlo draws of every objective are split across its devices,
so each device evaluates ``log_target`` on its share; without a mesh nothing
changes. In :func:`make_amortized_loss` the data axis is split instead, and
each data point's draws stay together.

Modules: ``_elbo`` (the ELBO), ``_iwae`` (IWAE and the Renyi bound), ``_dreg``
(their doubly-reparameterized gradient), ``_amortized`` (the amortized loss),
``_losses`` (the factories' minibatch targets), ``_common`` (checks, log
weights, the sharded and product families).
"""

from jaxreparam.objectives._amortized import make_amortized_loss
from jaxreparam.objectives._elbo import elbo, make_elbo_loss
from jaxreparam.objectives._iwae import (
    iwae,
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
