"""Workload 11: normalizing flows: sampling, ``sample_and_log_prob``, a training step.

Four flows, each ``L = 4`` layers of (layer, reverse the coordinates; in the
order the ``jr.flows`` builders chain them, see :func:`reverse_first`) over a
diagonal Gaussian base with learnable ``loc`` and ``log_scale``, conditioner
MLPs of two ReLU hidden layers of 64 units:

* RealNVP: affine coupling layers (the first ``D // 2`` coordinates condition,
  ``y = shift + softplus(raw + log(e - 1)) x`` on the rest);
* MAF: masked autoregressive layers (MADE masks, the same affine map),
  sampling sequential (``D`` network passes per layer), density one pass;
* IAF: the MAF layer inverted (``jr.bijectors.invert``): sampling one pass;
* spline: rational-quadratic spline coupling layers (8 bins on ``[-3, 3]``,
  Durkan et al. 2019), the neural spline flow RQ-NSF (C).

At ``D`` = 2 and 64, batches of 256 and 4 096. The operations: ``sample``,
``sample_and_log_prob`` and one Adam step: maximum likelihood (``-mean log q``
of a data batch) for RealNVP, MAF and spline, the reverse KL ``mean (log q(z) -
log p(z))`` of ``z`` from ``sample_and_log_prob`` (``p`` a standard normal) for
the IAF. A last workload compiles a 16-layer RealNVP and MAF (training step at
``D`` = 64): its compile times are the comparison there.

Contenders, all given the same params (``jr.flows`` builders' params with the
networks' last layers and the base drawn at random, so that no layer is the
identity) and the same data:

* ``hand-written``: the same math in ``jax.numpy``: the MLP as matmuls, the
  MADE masks built here, the affine and spline transformers written out, the
  layers under a ``lax.scan`` over the stacked layer params (as the library's
  ``repeat``); the MAF's sequential direction a ``lax.fori_loop`` of ``D``
  passes. Its spline finds the bin with a comparison count and
  ``take_along_axis``, the usual hand-written form (the knots summed in the
  library's order: a ``cumsum`` rounds otherwise, and a point next to a knot
  would take its neighbour's bin, and its gradient that bin's params). It is
  the library's math (bins, knots, slopes, identity tails, bin search, one
  gather per knot quantity, the paper's closed forms) without two cares the
  library adds: the bitwise identity at raw = 0 (one select) and NaN params
  staying NaN in the tails (``x + 0 out``);
* ``hand-written (python loop)`` (full mode, ``D`` = 64 and batch 256, not
  the spline): the layers unrolled by a Python loop, the other natural form;
* ``jaxreparam``: ``jr.flows.real_nvp / maf / iaf / neural_spline_flow``,
  their family's ``sample``, ``sample_and_log_prob``, ``log_prob``, and
  ``jr.train.make_step``;
* ``flowjax`` (RealNVP, MAF, IAF): the same flow built from flowjax's
  bijections as its builders build theirs (``Transformed(Normal, Scan(Chain([
  Flip, layer])))``, or ``[layer, Flip]``, layers made by ``eqx.filter_vmap``),
  with ``Coupling`` or
  ``MaskedAutoregressive`` (inverted for the MAF) and the transformer
  ``Affine`` (RealNVP) or ``Invert(Affine)`` (MAF, IAF: jaxreparam's
  autoregressive layer computes ``x = shift + scale u`` in its sampling
  direction), and the MLP weights, biases and base replaced by the row's params
  (``eqx.tree_at``, inside the jitted function). flowjax's MADE masks are
  jaxreparam's (ranks shifted by one). flowjax's ``masked_autoregressive_flow``
  and ``coupling_flow`` put ``Flip`` or a random permutation between layers and
  their own weights; they are not used as such because their maps differ;
* ``distrax`` (RealNVP and spline; it has no MADE): ``MaskedCoupling`` with the
  same MLP (written in ``jax.numpy``; distrax has no networks) as conditioner,
  ``ScalarAffine`` or ``RationalQuadraticSpline``, a ``Lambda`` reversal, a
  Python loop over the layers into a ``Chain``, ``Transformed`` of
  ``MultivariateNormalDiag``. distrax's spline takes its knot slopes through a
  softplus, jaxreparam's through ``1 + (1 - m) elu``: its conditioner converts
  (``log(expm1(.))``, a few elementwise operations per slope), so that the
  spline is the same.

**The checks.** Every contender computes the same function of the same params.
hand-written, jaxreparam and distrax draw the same noise (``jax.random.normal(
key, (B, D))``), so their outputs (samples, log-densities, the loss and Adam's
first moment, ``(1 - b1)`` times the gradient) must agree to float tolerance.
flowjax splits the key into one key per sample, so its draws differ: its
sampling rows and the IAF's step are checked within Monte Carlo error (``†``;
at batch 256 for the rows of 4 096), its maximum-likelihood steps exactly (no
noise). The flowjax spline is left out: its spline parameterizes the knots
(``RealToIncreasingOnInterval``) and the boundary slopes (learnable) otherwise,
so it is another map, which no check here could compare.

flowjax is one of the report's peers (``peers.PEERS``), with its own column.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import distrax, flowjax
from jaxreparam.train import make_step

__all__ = ["FLOWS", "make", "rows"]

LAYERS = 4
HIDDEN = (64, 64)
NUM_BINS, BOUND = 8, 3.0
MIN_BIN, MIN_SLOPE = 1e-3, 1e-3  # the library's spline defaults
SOFTPLUS_OF_ONE = math.log(math.e - 1.0)
HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
OPTIMIZER = optax.adam(1e-3)
FLOWS = ("RealNVP", "MAF", "IAF", "spline")
OPS = ("sample", "sample_and_log_prob", "step")
OP_NAMES = {
    "sample": "sample",
    "sample_and_log_prob": "sample_and_log_prob",
    "step": "Adam step",
}
#: (flow, op, dim, batch) of each mode's rows.
SIZES = {
    "quick": [("RealNVP", "step", 64, 256)],
    "full": [
        (flow, op, dim, batch)
        for flow in FLOWS
        for op in OPS
        for dim in (2, 64)
        for batch in (256, 4096)
    ],
}
CHECK_BATCH = 256  # flowjax's Monte Carlo checks of the larger rows
DEEP = 16  # the compile-time rows' layers
LOOP = "hand-written (python loop)"


# --------------------------------------------------------------------------- #
# The params: the library's, made non-trivial.


def _builder(flow: str):
    if flow == "RealNVP":
        return jr.flows.real_nvp
    if flow == "MAF":
        return jr.flows.maf
    if flow == "IAF":
        return jr.flows.iaf
    return functools.partial(
        jr.flows.neural_spline_flow, num_bins=NUM_BINS, bound=BOUND
    )


def init(flow: str, dim: int, layers: int = LAYERS):
    """``(params, family)``: the builder's, every leaf drawn at random."""
    params, family = _builder(flow)(
        jax.random.key(11), dim, num_layers=layers, hidden_sizes=HIDDEN
    )
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(12), len(leaves))
    out = []
    for key, leaf in zip(keys, leaves, strict=True):
        # Hidden layers keep their init; the zero last layers and the base get
        # small random values: no layer is the identity, the flow stays tame.
        if not jnp.any(leaf):
            leaf = 0.3 * jax.random.normal(key, leaf.shape, leaf.dtype)
            if leaf.ndim == 3:  # a last weight: scale by its fan-in
                leaf = leaf / math.sqrt(leaf.shape[1])
        out.append(leaf)
    return jax.tree.unflatten(tree, out), family


@functools.cache
def reverse_first() -> bool:
    """Whether the builders' layers are ``chain(reverse, layer)`` (else the other way).

    Every contender follows the library's order, so that they compute one map.
    """
    params, _ = jr.flows.real_nvp(jax.random.key(0), 2, num_layers=1)
    return not hasattr(params.bijector[0], "conditioner")


def _parts(params):
    """``(loc, log_scale, conditioner layers)`` of a flow's params."""
    layer_params = params.bijector[1 if reverse_first() else 0]
    return params.base.loc, params.base.log_scale_diag, layer_params.conditioner


# --------------------------------------------------------------------------- #
# Hand-written JAX.


def _mlp(layers, h):
    """The MLP of ``layers`` (``(weight (in, out), bias)`` pairs), ReLU between."""
    for i, (weight, bias) in enumerate(layers):
        if i:
            h = jax.nn.relu(h)
        h = h @ weight + bias
    return h


def made_masks(dim: int, num_params: int, hidden=HIDDEN) -> list[np.ndarray]:
    """MADE masks (Germain et al. 2015), ``(in, out)``: degrees cycle ``1..D-1``."""
    degrees = [np.arange(1, dim + 1)]
    degrees += [1 + np.arange(n) % max(dim - 1, 1) for n in hidden]
    out = np.repeat(np.arange(1, dim + 1), num_params)
    masks = [degrees[i][:, None] <= degrees[i + 1][None, :] for i in range(len(hidden))]
    masks.append(degrees[-1][:, None] < out[None, :])
    return [m.astype(np.float32) for m in masks]


def _affine(raw, x, inverse: bool):
    shift = raw[..., 0]
    scale = jax.nn.softplus(raw[..., 1] + SOFTPLUS_OF_ONE)
    if inverse:
        return (x - shift) / scale, -jnp.log(scale)
    return shift + scale * x, jnp.log(scale)


def _spline(raw, x, inverse: bool):
    """The rational-quadratic spline (Durkan et al. 2019, eqs. 4-8), one bin each."""
    k = NUM_BINS
    lo = -BOUND

    def knots(logits):
        # Sizes and knots summed in the library's order, and its constants
        # rounded as it rounds them (2 bound (1 - m K) is 6 x float32(0.992),
        # not float32(5.952)), so that a point next to a knot falls in the same
        # bin (a cumsum or a constant one ulp off moves it, and its gradient,
        # to the neighbouring bin's params: the D=64 B=4096 step missed its
        # check by 1.1e-3 so).
        bound = jnp.asarray(BOUND, logits.dtype)
        exps = jnp.exp(logits - jnp.max(logits, -1, keepdims=True))
        scale = 2.0 * bound * (1.0 - MIN_BIN * k) / jnp.sum(exps, -1, keepdims=True)
        sizes = 2.0 * bound * MIN_BIN + scale * exps
        edges = [jnp.full(sizes.shape[:-1], lo, sizes.dtype)]
        for j in range(k - 1):
            edges.append(edges[-1] + sizes[..., j])
        edges.append(jnp.full(sizes.shape[:-1], BOUND, sizes.dtype))
        return jnp.stack(edges, -1)

    xs, ys = knots(raw[..., :k]), knots(raw[..., k : 2 * k])
    inner = 1 + (1 - MIN_SLOPE) * jax.nn.elu(raw[..., 2 * k :])
    one = jnp.ones(inner.shape[:-1] + (1,), inner.dtype)
    ds = jnp.concatenate([one, inner, one], -1)
    inside = (x >= lo) & (x <= BOUND)
    v = jnp.where(inside, x, 0.0)
    search = ys if inverse else xs
    b = jnp.sum(v[..., None] >= search[..., 1:k], -1)[..., None]  # the bin

    def at(a, i):
        return jnp.take_along_axis(a, b + i, -1)[..., 0]

    x0, x1, y0, y1, d0, d1 = (
        at(xs, 0),
        at(xs, 1),
        at(ys, 0),
        at(ys, 1),
        at(ds, 0),
        at(ds, 1),
    )
    w, h = x1 - x0, y1 - y0
    s = h / w
    slack = d1 + d0 - 2 * s
    if inverse:
        dy = v - y0
        a = h * (s - d0) + dy * slack
        bb = h * d0 - dy * slack
        c = -s * dy
        t = 2 * c / (-bb - jnp.sqrt(jnp.maximum(bb * bb - 4 * a * c, 0.0)))
        out = x0 + t * w
    else:
        t = (v - x0) / w
        out = y0 + h * (s * t * t + d0 * t * (1 - t)) / (s + slack * t * (1 - t))
    numerator = s * s * (d1 * t * t + 2 * s * t * (1 - t) + d0 * (1 - t) ** 2)
    log_det = jnp.log(numerator) - 2 * jnp.log(s + slack * t * (1 - t))
    log_det = -log_det if inverse else log_det
    return jnp.where(inside, out, x), jnp.where(inside, log_det, 0.0)


def _coupling(transformer, num_params, dim):
    d = dim // 2

    def layer(net, x, inverse):
        x_c, x_t = x[..., :d], x[..., d:]
        raw = _mlp(net, x_c).reshape(*x.shape[:-1], dim - d, num_params)
        y_t, log_det = transformer(raw, x_t, inverse)
        return jnp.concatenate([x_c, y_t], -1), jnp.sum(log_det, -1)

    return layer


def _autoregressive(dim, inverted: bool):
    masks = made_masks(dim, 2)

    def made(net, x):
        masked = [(w * m, b) for (w, b), m in zip(net, masks, strict=True)]
        return _mlp(masked, x).reshape(*x.shape[:-1], dim, 2)

    def one_pass(net, x):  # data -> noise: u = (x - shift(x)) / scale(x)
        u, log_det = _affine(made(net, x), x, inverse=True)
        return u, jnp.sum(log_det, -1)

    def passes(net, u):  # noise -> data: x_i = shift_i(x_<i) + scale_i u_i
        def body(_, x):
            return _affine(made(net, x), u, inverse=False)[0]

        x = jax.lax.fori_loop(0, dim - 1, body, u)
        x, log_det = _affine(made(net, x), u, inverse=False)
        return x, jnp.sum(log_det, -1)

    def layer(net, x, inverse):
        # MAF: forward (sampling) sequential; IAF: the MAF layer inverted.
        sequential = inverse if inverted else not inverse
        return passes(net, x) if sequential else one_pass(net, x)

    return layer


def hand_layer(flow: str, dim: int):
    """``layer(net, x, inverse) -> (y, log_det)``, one layer (no reversal)."""
    if flow == "RealNVP":
        return _coupling(_affine, 2, dim)
    if flow == "spline":
        return _coupling(_spline, 3 * NUM_BINS - 1, dim)
    return _autoregressive(dim, inverted=flow == "IAF")


def _hand_flow(flow: str, dim: int, unrolled: bool = False):
    """``(forward, inverse)`` of the whole stack: ``(net, x) -> (y, log_det)``."""
    layer = hand_layer(flow, dim)

    first = reverse_first()

    def forward_one(net, x):
        if first:
            return layer(net, x[..., ::-1], False)
        y, log_det = layer(net, x, False)
        return y[..., ::-1], log_det

    def inverse_one(net, y):
        if not first:
            return layer(net, y[..., ::-1], True)
        x, log_det = layer(net, y, True)
        return x[..., ::-1], log_det

    def run(one, reverse):
        def apply(net, x):
            if unrolled:
                count = net[0][0].shape[0]
                total = 0.0
                for i in reversed(range(count)) if reverse else range(count):
                    x, log_det = one(jax.tree.map(lambda a, i=i: a[i], net), x)
                    total = total + log_det
                return x, total
            x, log_dets = jax.lax.scan(lambda x, p: one(p, x), x, net, reverse=reverse)
            return x, jnp.sum(log_dets, 0)

        return apply

    return run(forward_one, False), run(inverse_one, True)


def hand_written(flow: str, dim: int, batch: int, unrolled: bool = False):
    """``(sample, sample_and_log_prob, log_prob)`` in ``jax.numpy``."""
    forward, inverse = _hand_flow(flow, dim, unrolled)

    def sample_and_log_prob(key, params):
        loc, log_scale, net = _parts(params)
        eps = jax.random.normal(key, (batch, dim))
        y, log_det = forward(net, loc + jnp.exp(log_scale) * eps)
        log_q = jnp.sum(-0.5 * eps**2 - log_scale - HALF_LOG_TWO_PI, -1)
        return y, log_q - log_det

    def sample(key, params):
        loc, log_scale, net = _parts(params)
        eps = jax.random.normal(key, (batch, dim))
        return forward(net, loc + jnp.exp(log_scale) * eps)[0]

    def log_prob(params, y):
        loc, log_scale, net = _parts(params)
        x, log_det = inverse(net, y)
        eps = (x - loc) * jnp.exp(-log_scale)
        return jnp.sum(-0.5 * eps**2 - log_scale - HALF_LOG_TWO_PI, -1) + log_det

    return sample, sample_and_log_prob, log_prob


# --------------------------------------------------------------------------- #
# jaxreparam.


def jaxreparam(family, batch: int):
    """``(sample, sample_and_log_prob, log_prob)`` of the library's family."""

    def sample(key, params):
        return family.sample(key, params, (batch,))

    def sample_and_log_prob(key, params):
        return family.sample_and_log_prob(key, params, (batch,))

    return sample, sample_and_log_prob, family.log_prob


# --------------------------------------------------------------------------- #
# flowjax: the same flow from its bijections, with the row's params.


def flowjax_template(flow: str, dim: int, layers: int = LAYERS):
    """The flowjax flow of the right structure (its own weights, replaced later)."""
    import equinox as eqx

    fj = flowjax()
    bij, dists = fj.bijections, fj.distributions
    depth, width = len(HIDDEN), HIDDEN[0]

    def make_layer(key):
        if flow == "RealNVP":
            layer = bij.Coupling(
                key,
                transformer=bij.Affine(),
                untransformed_dim=dim // 2,
                dim=dim,
                nn_width=width,
                nn_depth=depth,
            )
        else:
            layer = bij.MaskedAutoregressive(
                key,
                transformer=bij.Invert(bij.Affine()),
                dim=dim,
                nn_width=width,
                nn_depth=depth,
            )
            if flow == "MAF":
                layer = bij.Invert(layer)
        flip = bij.Flip((dim,))
        return bij.Chain([flip, layer] if reverse_first() else [layer, flip])

    stack = eqx.filter_vmap(make_layer)(jax.random.split(jax.random.key(13), layers))
    return dists.Transformed(dists.Normal(jnp.zeros(dim)), bij.Scan(stack))


def _flowjax_mlp(model):
    layer = model.bijection.bijection.bijections[1 if reverse_first() else 0]
    if hasattr(layer, "conditioner"):
        return layer.conditioner, False
    layer = getattr(layer, "bijection", layer)  # the MAF's is inverted
    return layer.masked_autoregressive_mlp, True


def flowjax_model(template, params):
    """``template`` with the row's params (a traced function of them)."""
    import equinox as eqx

    loc, log_scale, net = _parts(params)
    _, masked = _flowjax_mlp(template)

    def nodes(model):
        mlp, _ = _flowjax_mlp(model)
        base = model.base_dist.bijection
        weights = [(lin.weight.args[1] if masked else lin.weight) for lin in mlp.layers]
        return [base.loc, base.scale, *weights, *(lin.bias for lin in mlp.layers)]

    values = [
        loc,
        jnp.exp(log_scale),
        *(jnp.swapaxes(w, -1, -2) for w, _ in net),
        *(b for _, b in net),
    ]
    return eqx.tree_at(nodes, template, replace=values)


def flowjax_functions(template, batch: int):
    """``(sample, sample_and_log_prob, log_prob)`` of flowjax's flow."""

    def sample(key, params):
        return flowjax_model(template, params).sample(key, (batch,))

    def sample_and_log_prob(key, params):
        return flowjax_model(template, params).sample_and_log_prob(key, (batch,))

    def log_prob(params, y):
        return flowjax_model(template, params).log_prob(y)

    return sample, sample_and_log_prob, log_prob


# --------------------------------------------------------------------------- #
# distrax: MaskedCoupling with the same MLP, a Python loop over the layers.


def _distrax_spline_params(raw):
    """jaxreparam's raw spline numbers as distrax's (same widths, heights, slopes)."""
    k = NUM_BINS
    inner = 1 + (1 - MIN_SLOPE) * jax.nn.elu(raw[..., 2 * k :])
    # distrax: slope = softplus(u + offset) + min, offset = log(expm1(1 - min)).
    offset = math.log(math.expm1(1 - MIN_SLOPE))
    slopes = jnp.log(jnp.expm1(inner - MIN_SLOPE)) - offset
    pad = jnp.zeros(raw.shape[:-1] + (1,), raw.dtype)  # the ends: 1 ('identity')
    return jnp.concatenate([raw[..., : 2 * k], pad, slopes, pad], -1)


def distrax_flow(flow: str, dim: int, params):
    """The distrax ``Transformed`` of the row's params."""
    dx = distrax()
    loc, log_scale, net = _parts(params)
    d = dim // 2
    num_params = 2 if flow == "RealNVP" else 3 * NUM_BINS - 1
    mask = jnp.arange(dim) < d

    def transformer(raw):
        if flow == "RealNVP":
            scale = jax.nn.softplus(raw[..., 1] + SOFTPLUS_OF_ONE)
            return dx.ScalarAffine(shift=raw[..., 0], scale=scale)
        return dx.RationalQuadraticSpline(
            _distrax_spline_params(raw),
            range_min=-BOUND,
            range_max=BOUND,
            boundary_slopes="identity",
            min_bin_size=2 * BOUND * MIN_BIN,
            min_knot_slope=MIN_SLOPE,
        )

    reverse = dx.Lambda(
        forward=lambda x: x[..., ::-1],
        inverse=lambda y: y[..., ::-1],
        forward_log_det_jacobian=lambda x: jnp.zeros(x.shape[:-1], x.dtype),
        inverse_log_det_jacobian=lambda y: jnp.zeros(y.shape[:-1], y.dtype),
        event_ndims_in=1,
        is_constant_jacobian=True,
    )
    chain = []
    for i in range(net[0][0].shape[0]):
        layer_net = jax.tree.map(lambda a, i=i: a[i], net)

        def conditioner(x, layer_net=layer_net):
            raw = _mlp(layer_net, x[..., :d])
            raw = raw.reshape(*x.shape[:-1], dim - d, num_params)
            kept = jnp.zeros(x.shape[:-1] + (d, num_params), raw.dtype)
            return jnp.concatenate([kept, raw], -2)

        coupling = dx.MaskedCoupling(mask, conditioner, transformer)
        chain += [reverse, coupling] if reverse_first() else [coupling, reverse]
    base = dx.MultivariateNormalDiag(loc, jnp.exp(log_scale))
    return dx.Transformed(base, dx.Chain(chain[::-1]))  # distrax: right to left


def distrax_functions(flow: str, dim: int, batch: int):
    """``(sample, sample_and_log_prob, log_prob)`` of distrax's flow."""

    def sample(key, params):
        return distrax_flow(flow, dim, params).sample(seed=key, sample_shape=(batch,))

    def sample_and_log_prob(key, params):
        q = distrax_flow(flow, dim, params)
        return q.sample_and_log_prob(seed=key, sample_shape=(batch,))

    def log_prob(params, y):
        return distrax_flow(flow, dim, params).log_prob(y)

    return sample, sample_and_log_prob, log_prob


# --------------------------------------------------------------------------- #
# The rows.


def _log_target(z):
    return jnp.sum(-0.5 * z**2 - HALF_LOG_TWO_PI, -1)


def _loss(flow: str, functions):
    """The training loss ``loss(key, params, x)`` from a contender's functions."""
    _, sample_and_log_prob, log_prob = functions
    if flow == "IAF":  # reverse KL to a standard normal

        def loss(key, params, x):
            z, log_q = sample_and_log_prob(key, params)
            return jnp.mean(log_q - _log_target(z))

    else:  # maximum likelihood

        def loss(key, params, x):
            return -jnp.mean(log_prob(params, x))

    return loss


def _hand_step(loss):
    def step(key, params, opt_state, x):
        value, grads = jax.value_and_grad(loss, argnums=1)(key, params, x)
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def _jr_step(loss):
    step = make_step(loss, OPTIMIZER)

    def run(key, params, opt_state, x):
        params, opt_state, metrics = step(key, params, opt_state, x)
        return params, opt_state, metrics["loss"]

    return run


def _first_moment(out):
    """Adam's first moment after one step from zero: ``(1 - b1)`` x the gradient."""
    _, opt_state, loss = out
    return opt_state[0].mu, loss


def _data(dim: int, batch: int):
    """A data batch: correlated, heavier than Gaussian in one direction."""
    k1, k2 = jax.random.split(jax.random.key(14))
    z = jax.random.normal(k1, (batch, dim))
    return (
        z.at[:, 0].multiply(1.5)
        + 0.5 * jnp.sin(2.0 * z[:, -1:])
        + 0.1 * (jax.random.normal(k2, (batch, dim)))
    )


def _peers(flow: str) -> tuple[str, ...]:
    peers = ("flowjax",) if flow in ("RealNVP", "MAF", "IAF") else ()
    if flow in ("RealNVP", "spline"):
        peers += ("distrax",)
    return peers


def make(
    flow: str,
    op: str,
    dim: int,
    batch: int,
    layers: int = LAYERS,
    loop: bool = False,
    deep: bool = False,
) -> Row:
    """The row of ``op`` on ``flow`` at event size ``dim`` and ``batch`` draws."""
    params, family = init(flow, dim, layers)
    functions = {
        "hand-written": hand_written(flow, dim, batch),
        "jaxreparam": jaxreparam(family, batch),
    }
    if loop:
        functions[LOOP] = hand_written(flow, dim, batch, unrolled=True)
    peers = _peers(flow)
    if "flowjax" in peers:
        functions["flowjax"] = flowjax_functions(
            flowjax_template(flow, dim, layers), batch
        )
    if "distrax" in peers:
        functions["distrax"] = distrax_functions(flow, dim, batch)

    contenders = []
    for name, fns in functions.items():
        # flowjax draws one key per sample: its draws differ from the others'.
        exact = name != "flowjax" or (op == "step" and flow != "IAF")
        if op == "step":
            loss = _loss(flow, fns)
            step = _jr_step(loss) if name == "jaxreparam" else _hand_step(loss)
            contenders.append(
                Contender(name, step, same_noise=exact, check_output=_first_moment)
            )
        else:
            fn = fns[0] if op == "sample" else fns[1]
            contenders.append(Contender(name, fn, same_noise=exact))

    if op == "step":
        args = (jax.random.key(0), params, OPTIMIZER.init(params), _data(dim, batch))
    else:
        args = (jax.random.key(0), params)
    workload = (
        f"flow compile, {layers} layers" if deep else f"flow {flow} {OP_NAMES[op]}"
    )
    # The spline's gradient in its params jumps at a knot: at 4096 x 64 inputs
    # some lies within an ulp of one, and distrax's rounding of the knots puts it
    # in the other bin (a 1e-3 difference); its exact check is made at the proxy.
    knot_jumps = flow == "spline" and op == "step"
    proxy = None
    if batch > CHECK_BATCH and ("flowjax" in peers or knot_jumps):

        def proxy():
            return make(flow, op, dim, CHECK_BATCH, layers, deep=deep)

    notes = ""
    if deep:
        notes = f"{flow} {OP_NAMES[op]}; compile times are the comparison"
    return Row(
        workload=workload,
        size=f"D={dim} B={batch}" + (f" {flow}" if deep else ""),
        elements=batch * dim * layers,
        args=args,
        contenders=contenders,
        check_proxy=proxy,
        exact_at_proxy=knot_jumps,
        notes=notes,
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    if not hasattr(jr, "flows"):
        return []
    out = []
    for flow, op, dim, batch in SIZES[mode]:
        if flow == "spline" and not hasattr(jr.bijectors, "spline_coupling"):
            continue
        loop = mode == "full" and flow != "spline" and (dim, batch) == (64, 256)
        out.append(make(flow, op, dim, batch, loop=loop))
    if mode == "full":
        out += [
            make(f, "step", 64, 256, layers=DEEP, deep=True) for f in ("RealNVP", "MAF")
        ]
    return out


PENDING = "jaxreparam.flows not present"
