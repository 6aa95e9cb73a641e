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
| ``bayesian_dense`` | a Bayesian dense layer, ``apply(key, mf_params, x)`` |
| ``bayesian_conv2d`` | a Bayesian 2-D convolution (NHWC) |
| ``bayesian_mlp`` | a Bayesian MLP; weight, local or Flipout noise |
| ``mean_field`` | a mean-field Normal over any params pytree |
| ``posterior_mean`` | the ordinary network's params back |
| ``mean_field_family`` | those posteriors as a ``Family``-like bundle |
| ``bayes_by_backprop`` | ``apply(params, x)`` as ``apply(key, mf_params, x)`` |
| ``normal_prior`` | a Normal prior over every weight, exact KL |
| ``scale_mixture_prior`` | Blundell et al.'s scale mixture prior |
| ``make_bnn_loss`` | the minibatch ELBO per data point, for ``jr.fit`` |
| ``linear_warmup`` | a KL weight schedule for ``make_bnn_loss`` |

``predictive(key, apply, params, x)`` gives the Monte Carlo predictive mean and
standard deviation of a random network (chunked over draws and inputs); the
submodule ``jaxreparam.nn.metrics`` has the metrics reported for them (accuracy,
NLL, Brier score, ECE, predictive entropy, RMSE, OOD AUROC).
"""

from jaxreparam.nn import metrics as metrics
from jaxreparam.nn._bayes import (
    BayesianNetwork,
    bayesian_conv2d,
    bayesian_dense,
    bayesian_mlp,
)
from jaxreparam.nn._bnn_loss import linear_warmup, make_bnn_loss
from jaxreparam.nn._mean_field import (
    MeanFieldParams,
    bayes_by_backprop,
    mean_field,
    mean_field_family,
    posterior_mean,
)
from jaxreparam.nn._mlp import Linear, Network, masked_mlp, mlp
from jaxreparam.nn._predictive import Predictive, predictive
from jaxreparam.nn._priors import Prior, normal_prior, scale_mixture_prior

__all__ = [
    "BayesianNetwork",
    "Linear",
    "MeanFieldParams",
    "Network",
    "Prior",
    "bayes_by_backprop",
    "bayesian_conv2d",
    "bayesian_dense",
    "bayesian_mlp",
    "linear_warmup",
    "make_bnn_loss",
    "masked_mlp",
    "mean_field",
    "mean_field_family",
    "mlp",
    "normal_prior",
    "posterior_mean",
    "scale_mixture_prior",
]
__all__ += ["Predictive", "metrics", "predictive"]
