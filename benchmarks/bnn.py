"""Workload: Bayesian neural networks (``jr.nn``): a training step, and prediction.

**The step** (workload ``"BNN step (Adam, batch 128)"``). One Adam step on the
minibatch ELBO per data point (``jr.nn.make_bnn_loss``, ``N = 60000``, a
``jr.nn.normal_prior(1.0)``, softmax cross-entropy) of a 784-400-400-10 ReLU
Bayesian MLP (``jr.nn.bayesian_mlp``, mean-field Normal over every weight,
``init_scale = 0.01``), batch 128, inputs uniform on ``[0, 1]``, random labels.
One row per gradient estimator (``reparameterization``); the reference is the
same math hand-written in ``jax.numpy`` on the same params, drawing its noise
as the library does from the same key (``split(key)`` into the network's key
and the KL's; the network's key split into one per layer; per layer: local,
one ``normal(key, (B, out))``; Flipout, ``split(key, 3)`` into the
perturbation's key (split again for weight and bias) and the two sign keys;
weight sampling, ``split(key)`` for weight and bias), so the loss and the
gradient agree to float32 rounding. The KL is in closed form.

Contenders besides hand-written and ``jaxreparam`` (``jr.make_step`` on
``make_bnn_loss(bayesian_mlp(...).apply, ...)``):

* on the local row, the library's other two estimators (``jaxreparam
  (flipout)``, ``jaxreparam (weight)``): unbiased for the same gradient, so
  checked within Monte Carlo error (†); ``flipout/local`` is their ratio;
* ``numpyro``: ``SVI.update`` of a model with ``Normal(0, 1)`` priors on every
  weight, a hand-written mean-field guide (``numpyro.param`` locs and
  log-scales holding the same numbers, ``Normal(loc, exp(log_scale))``), the
  likelihood under ``handlers.scale(N / B)`` and a data plate,
  ``TraceMeanField_ELBO`` (the KL in closed form, as the library's) or, as
  ``numpyro (Trace_ELBO)`` (not in the rows: see the README), ``Trace_ELBO``
  (one particle: one weight draw shared by the batch, the KL by Monte Carlo),
  optax's Adam through ``optax_to_numpyro``. Checked within Monte Carlo error (†), their
  loss and gradient divided by ``N`` (numpyro's loss is the negative ELBO);
* the **floor** is the deterministic network's step: the plain 784-400-400-10
  MLP (the posterior means as its weights) with the same loss's likelihood
  and Adam, hand-written; ``jr / floor`` is the cost of being Bayesian.

The checks read the loss and Adam's first moment after one step from zero,
``(1 - b1)`` times the gradient.

**Prediction** (workload ``"BNN predictive (100 draws)"``):
``jr.nn.predictive`` (softmax probabilities' mean and standard deviation over
100 weight draws; weight sampling, so every chunking gives the same numbers) at
a few draw and input chunk sizes, against hand-written JAX that vmaps all 100
draws at once. The row's notes give each program's compiled temporary memory
(``memory_analysis()``): the chunked ones are bounded by the chunk, the
all-at-once one grows with the draws.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import optax

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import numpyro_dist

__all__ = [
    "PREDICT",
    "STEP",
    "hand_loss",
    "make_predict_row",
    "make_step_row",
    "memory",
    "rows",
]

STEP = "BNN step (Adam, batch 128)"
PREDICT = "BNN predictive (100 draws)"
SIZES = (784, 400, 400, 10)
BATCH = 128
NUM_DATA = 60_000
OPTIMIZER = optax.adam(1e-3)
ESTIMATORS = ("local", "flipout", "weight")
#: Per mode: the estimators with a row of their own.
STEP_ROWS = {"quick": ["local"], "full": ["local", "flipout", "weight"]}
NUM_DRAWS = 100
#: Per mode: (network sizes, inputs, [(chunk_size, input_chunk_size), ...]).
PREDICT_ROWS = {
    "quick": [((64, 100, 100, 10), 1000, [(10, None)])],
    "full": [
        ((64, 100, 100, 10), 10_000, [(10, None), (100, None), (10, 1000), (1, 1000)])
    ],
}


def _data(key, sizes=SIZES, batch=BATCH):
    x_key, y_key = jax.random.split(key)
    x = jax.random.uniform(x_key, (batch, sizes[0]))
    y = jax.random.randint(y_key, (batch,), 0, sizes[-1])
    return x, y


def _log_likelihood(logits, y):
    """Softmax cross-entropy, per example: ``log softmax(logits)[y]``."""
    log_p = jax.nn.log_softmax(logits)
    return jnp.take_along_axis(log_p, y[:, None], axis=-1)[:, 0]


# --------------------------------------------------------------------------- #
# Hand-written: the same math in jax.numpy.


def _hand_layer(key, loc, log_scale, h, estimator):
    """One Bayesian dense layer, the noise drawn as the library draws it."""
    w, b = loc
    if estimator == "local":  # the variances exp(2 log s), as the KL writes them
        mean = h @ w + b
        variance = (h * h) @ jnp.exp(2 * log_scale[0]) + jnp.exp(2 * log_scale[1])
        return mean + jnp.sqrt(variance) * jax.random.normal(key, mean.shape)
    s_w, s_b = jnp.exp(log_scale[0]), jnp.exp(log_scale[1])
    if estimator == "weight":
        w_key, b_key = jax.random.split(key)
        w = w + s_w * jax.random.normal(w_key, w.shape)
        b = b + s_b * jax.random.normal(b_key, b.shape)
        return h @ w + b
    mean = h @ w + b
    noise_key, in_key, out_key = jax.random.split(key, 3)
    sign_in = jax.random.rademacher(in_key, h.shape, h.dtype)
    sign_out = jax.random.rademacher(out_key, mean.shape, mean.dtype)
    w_key, b_key = jax.random.split(noise_key)
    delta_w = s_w * jax.random.normal(w_key, w.shape)
    delta_b = s_b * jax.random.normal(b_key, b.shape)
    return mean + ((h * sign_in) @ delta_w + delta_b) * sign_out


def _hand_apply(key, params, x, estimator):
    locs, log_scales = params
    keys = jax.random.split(key, len(locs))
    h = x
    for i in range(len(locs)):
        if i:
            h = jax.nn.relu(h)
        h = _hand_layer(keys[i], locs[i], log_scales[i], h, estimator)
    return h


def _hand_kl(params):
    """``KL(q || N(0, 1))`` over every weight, in closed form."""
    locs, log_scales = params
    total = jnp.zeros(())
    for m, r in zip(jax.tree.leaves(locs), jax.tree.leaves(log_scales), strict=True):
        total += jnp.sum(0.5 * (jnp.exp(2 * r) + m * m - 1.0) - r)
    return total


def hand_loss(estimator):
    """The hand-written ``loss(key, params, x, y)``: ``-ELBO / N`` on the batch."""

    def loss(key, params, x, y):
        apply_key, _ = jax.random.split(key)  # the second is the KL's (unused)
        logits = _hand_apply(apply_key, params, x, estimator)
        return -jnp.mean(_log_likelihood(logits, y)) + _hand_kl(params) / NUM_DATA

    return loss


def _hand_step(loss):
    def step(key, params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss, argnums=1)(key, params, x, y)
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def _deterministic_step(key, params, opt_state, x, y):
    """The plain MLP's Adam step, on the posterior means (the row's floor).

    Its Adam state is the locs' part of the row's, so nothing is a constant.
    """
    del key
    adam, *rest = opt_state
    weights = params.loc
    state = adam._replace(mu=adam.mu.loc, nu=adam.nu.loc)

    def loss(weights):
        h = x
        for i, (w, b) in enumerate(weights):
            h = (jax.nn.relu(h) if i else h) @ w + b
        return -jnp.mean(_log_likelihood(h, y))

    value, grads = jax.value_and_grad(loss)(weights)
    updates, new_state = OPTIMIZER.update(grads, (state, *rest), weights)
    return optax.apply_updates(weights, updates), new_state, value


# --------------------------------------------------------------------------- #
# jaxreparam.


def _jr_step(estimator, sizes=SIZES):
    net = jr.nn.bayesian_mlp(sizes, reparameterization=estimator)
    loss = jr.nn.make_bnn_loss(
        net.apply,
        lambda logits, y: _log_likelihood(logits, y),
        jr.nn.normal_prior(1.0),
        num_data=NUM_DATA,
    )
    step = jr.make_step(loss, OPTIMIZER)

    def run(key, params, opt_state, x, y):
        params, opt_state, metrics = step(key, params, opt_state, (x, y))
        return params, opt_state, metrics["loss"]

    return run


# --------------------------------------------------------------------------- #
# numpyro: SVI with a mean-field guide holding the same numbers.


def _names(i):
    return f"w{i}", f"b{i}"


def _to_dict(params):
    """``MeanFieldParams`` of ``Linear`` layers -> numpyro's param dict."""
    out = {}
    for i, (loc, log_scale) in enumerate(zip(*params, strict=True)):
        for name, m, r in zip(_names(i), loc, log_scale, strict=True):
            out[name + "_loc"], out[name + "_log_scale"] = m, r
    return out


def _from_dict(d, like):
    locs, log_scales = like
    loc = tuple(
        type(layer)(*(d[n + "_loc"] for n in _names(i))) for i, layer in enumerate(locs)
    )
    log_scale = tuple(
        type(layer)(*(d[n + "_log_scale"] for n in _names(i)))
        for i, layer in enumerate(log_scales)
    )
    return type(like)(loc, log_scale)


def _numpyro_svi(elbo, params, x, y, sizes=SIZES):
    import numpyro
    from numpyro import handlers
    from numpyro.infer import SVI
    from numpyro.optim import optax_to_numpyro

    dist = numpyro_dist()
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))

    def model(x, y):
        h = x
        for i, (fan_in, fan_out) in enumerate(shapes):
            w_name, b_name = _names(i)
            w = numpyro.sample(
                w_name, dist.Normal(0.0, 1.0).expand((fan_in, fan_out)).to_event(2)
            )
            b = numpyro.sample(
                b_name, dist.Normal(0.0, 1.0).expand((fan_out,)).to_event(1)
            )
            h = (jax.nn.relu(h) if i else h) @ w + b
        with handlers.scale(scale=NUM_DATA / x.shape[0]):
            with numpyro.plate("data", x.shape[0]):
                numpyro.sample("y", dist.Categorical(logits=h), obs=y)

    def guide(x, y):
        del x, y
        init = _to_dict(params)
        for i in range(len(shapes)):
            for name in _names(i):
                loc = numpyro.param(name + "_loc", init[name + "_loc"])
                log_scale = numpyro.param(
                    name + "_log_scale", init[name + "_log_scale"]
                )
                numpyro.sample(
                    name, dist.Normal(loc, jnp.exp(log_scale)).to_event(loc.ndim)
                )

    svi = SVI(model, guide, optax_to_numpyro(OPTIMIZER), elbo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svi.init(jax.random.key(0), x, y)
    return svi


def _numpyro_step(svi):
    from numpyro.infer.svi import SVIState

    def step(key, params, opt_state, x, y):
        adam, *rest = opt_state
        state = adam._replace(mu=_to_dict(adam.mu), nu=_to_dict(adam.nu))
        count = jnp.zeros((), jnp.int32)
        svi_state = SVIState((count, (_to_dict(params), (state, *rest))), None, key)
        svi_state, loss = svi.update(svi_state, x, y)
        _, (new, (adam_new, *rest_new)) = svi_state.optim_state
        adam_new = adam_new._replace(
            mu=_from_dict(adam_new.mu, params), nu=_from_dict(adam_new.nu, params)
        )
        return _from_dict(new, params), (adam_new, *rest_new), loss

    return step


def _first_moment(out, scale=1.0):
    """Adam's first moment after one step from zero, and the loss (over ``scale``)."""
    _, opt_state, loss = out
    return jax.tree.map(lambda m: m / scale, opt_state[0].mu), loss / scale


def _numpyro_moment(out):
    return _first_moment(out, NUM_DATA)


# --------------------------------------------------------------------------- #
# The rows.


def make_step_row(estimator: str, *, sizes=SIZES, peers=("numpyro",)) -> Row:
    """One Adam step of the ``sizes`` BNN with ``estimator``'s noise.

    ``peers`` are the numpyro contenders to include (by name).
    """
    from numpyro.infer import Trace_ELBO, TraceMeanField_ELBO

    params_key, data_key = jax.random.split(jax.random.key(13))
    params = jr.nn.bayesian_mlp(sizes).init(params_key)
    x, y = _data(data_key, sizes)
    contenders = [
        Contender(
            "hand-written", _hand_step(hand_loss(estimator)), check_output=_first_moment
        ),
        Contender("jaxreparam", _jr_step(estimator, sizes), check_output=_first_moment),
    ]
    compare = {}
    if estimator == "local":
        for other in ("flipout", "weight"):
            name = f"jaxreparam ({other})"
            contenders.append(
                Contender(
                    name,
                    _jr_step(other, sizes),
                    same_noise=False,
                    check_output=_first_moment,
                )
            )
        compare["flipout/local"] = ("jaxreparam (flipout)", "jaxreparam")
        compare["weight/local"] = ("jaxreparam (weight)", "jaxreparam")
    elbos = {
        "numpyro": TraceMeanField_ELBO,
        "numpyro (Trace_ELBO)": Trace_ELBO,
    }
    for name in peers:
        contenders.append(
            Contender(
                name,
                _numpyro_step(_numpyro_svi(elbos[name](), params, x, y, sizes)),
                same_noise=False,
                check_output=_numpyro_moment,
            )
        )
    return Row(
        workload=STEP,
        size=f"{'-'.join(map(str, sizes))} {estimator}",
        elements=sum(a.size for a in jax.tree.leaves(params)),
        args=(jax.random.key(0), params, OPTIMIZER.init(params), x, y),
        contenders=contenders,
        floor=_deterministic_step,
        compare=compare,
        notes="floor: the deterministic MLP's step; numpyro: one weight draw",
    )


def _hand_predict(apply):
    def predict(key, params, x):
        keys = jax.random.split(key, NUM_DRAWS)
        probs = jax.vmap(lambda k: jax.nn.softmax(apply(k, params, x)))(keys)
        return jnp.mean(probs, 0), jnp.std(probs, 0)

    return predict


def _jr_predict(apply, chunk_size, input_chunk_size):
    def predict(key, params, x):
        out = jr.nn.predictive(
            key,
            apply,
            params,
            x,
            num_samples=NUM_DRAWS,
            chunk_size=chunk_size,
            input_chunk_size=input_chunk_size,
            transform=jax.nn.softmax,
        )
        return out.mean, out.std

    return predict


def memory(fn, args) -> int:
    """The compiled program's temporary memory in bytes (``memory_analysis``)."""
    analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    return int(analysis.temp_size_in_bytes)


def _chunk_name(chunk_size, input_chunk_size):
    name = f"jaxreparam (chunk {chunk_size}"
    return name + (f", inputs {input_chunk_size})" if input_chunk_size else ")")


def make_predict_row(sizes, num_inputs, chunks) -> Row:
    """``jr.nn.predictive`` with 100 draws on ``num_inputs`` inputs, ``chunks``."""
    net = jr.nn.bayesian_mlp(sizes, reparameterization="weight")
    params_key, data_key = jax.random.split(jax.random.key(14))
    params = net.init(params_key)
    x = jax.random.uniform(data_key, (num_inputs, sizes[0]))
    args = (jax.random.key(1), params, x)
    hand = _hand_predict(lambda k, p, x: _hand_apply(k, p, x, "weight"))
    contenders = [Contender("hand-written", hand)]
    for i, (chunk, inputs) in enumerate(chunks):
        name = "jaxreparam" if i == 0 else _chunk_name(chunk, inputs)
        contenders.append(Contender(name, _jr_predict(net.apply, chunk, inputs)))
    mib = {c.name: memory(c.fn, args) / 2**20 for c in contenders}
    first = _chunk_name(*chunks[0])
    notes = "temp memory (MiB): " + ", ".join(
        f"{first if name == 'jaxreparam' else name} {m:.1f}" for name, m in mib.items()
    )
    return Row(
        workload=PREDICT,
        size=f"{'-'.join(map(str, sizes))}, {num_inputs} inputs",
        elements=NUM_DRAWS * num_inputs * sizes[-1],
        args=args,
        contenders=contenders,
        notes=notes.replace("hand-written", "hand-written (all draws at once)"),
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    peers = ("numpyro",)
    out = [make_step_row(e, peers=peers) for e in STEP_ROWS[mode]]
    out += [make_predict_row(*spec) for spec in PREDICT_ROWS[mode]]
    return out
