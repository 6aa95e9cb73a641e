"""Workload: one Adam step of ``jr.vae.make_vae``'s model, and its test log-likelihood.

**The step** (workload ``"jr.vae step (Adam)"``). The VAE ``jr.vae.make_vae``
builds (default tanh MLPs, Gaussian posterior, standard normal prior) trained
on the ELBO (closed-form KL, one draw) or the IWAE bound with ``K`` draws, at
two sizes:

* ``784-400-20``: binary 784-dimensional data (random, batch 128), Bernoulli
  decoder, as in Kingma & Welling (2014) and Burda et al. (2016);
* ``digits 64-200-8``: scikit-learn's 8x8 digits (their first 128 training
  images, grey levels 0..16), a categorical decoder over the 17 levels.

Contenders:

* ``jaxreparam``: ``jr.make_step(vae.loss, adam)``;
* hand-written: the same math in ``jax.numpy`` on the same params, batched
  (one ``(B, K, n)`` draw made as the library makes it: ``split(key, B)``,
  then ``normal(keys[i], (K, n))`` per data point), so the losses and
  gradients agree to float32 rounding;
* numpyro: ``SVI.update`` on the same model and guide (``numpyro.param``
  sites holding the same weights, a data plate), ``TraceMeanField_ELBO`` for
  the ELBO (its KL in closed form, as the library's), ``RenyiELBO(alpha=0,
  num_particles=K)`` for IWAE (per data point within the plate), with optax's
  Adam through ``optax_to_numpyro``; its draws differ (†); numpyro sums over
  the batch, so its check divides by the batch size. (``Trace_ELBO``, whose
  KL is a Monte Carlo one, is another estimator: not the same math.)

The checks read the loss and Adam's first moment after one step from zero,
``(1 - b1)`` times the gradient.

**The test log-likelihood** (workload ``"jr.vae test log-likelihood"``):
``jr.vae.log_likelihood`` with ``K = 5000`` importance samples per point on the
digits test set (360 points), chunked (500 draws at a time, 8 points at a time),
against a hand-written chunked loop with the same draws and the unchunked call
(``chunk_size = K``). :func:`memory` gives each program's compiled temporary
memory (``memory_analysis()``), which :func:`rows` puts in the row's notes.
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreparam as jr
from benchmarks.harness import Contender, Row
from benchmarks.peers import numpyro_dist

__all__ = [
    "LOG_LIKELIHOOD",
    "STEP",
    "full_test_set",
    "make_log_likelihood_row",
    "make_step_row",
    "memory",
    "rows",
]

STEP = "jr.vae step (Adam)"
LOG_LIKELIHOOD = "jr.vae test log-likelihood"
BATCH = 128
OPTIMIZER = optax.adam(1e-3)
#: (name, data size, hidden width, latent size, likelihood, levels).
MODELS = {
    "784-400-20": (784, 400, 20, "bernoulli", 2),
    "digits 64-200-8": (64, 200, 8, "categorical", 17),
}
#: Per mode: (model, objective, K).
STEP_SIZES = {
    "quick": [("digits 64-200-8", "elbo", 1), ("digits 64-200-8", "iwae", 5)],
    "full": [
        ("784-400-20", "elbo", 1),
        ("784-400-20", "iwae", 5),
        ("784-400-20", "iwae", 50),
        ("digits 64-200-8", "elbo", 1),
        ("digits 64-200-8", "iwae", 5),
        ("digits 64-200-8", "iwae", 50),
    ],
}
#: Per mode: (test points, K, chunk size).
LL_SIZES = {"quick": [(16, 500, 100)], "full": [(36, 5000, 500)]}
LL_BATCH = 8


def _likelihood(kind: str, levels: int):
    return jr.vae.bernoulli if kind == "bernoulli" else jr.vae.categorical(levels)


@functools.cache
def make_vae(model: str, objective: str, num_samples: int) -> jr.vae.VAE:
    """The library's VAE of ``model`` (a key of ``MODELS``)."""
    data, hidden, latent, kind, levels = MODELS[model]
    return jr.vae.make_vae(
        data_size=data,
        latent_size=latent,
        likelihood=_likelihood(kind, levels),
        objective=objective,
        num_samples=num_samples,
        hidden_sizes=(hidden,),
    )


@functools.cache
def _digits(split: str) -> np.ndarray:
    from jaxreparam.apps import _data

    data = _data.digits(kind="levels")
    return np.asarray(data.x_train if split == "train" else data.x_test)


def data(model: str, num: int = BATCH, split: str = "train") -> jax.Array:
    """``num`` data points for ``model``: random binary, or digits' grey levels."""
    if model.startswith("digits"):
        return jnp.asarray(_digits(split)[:num], jnp.float32)
    inputs = MODELS[model][0]
    x = jax.random.bernoulli(jax.random.key(14), 0.3, (num, inputs))
    return x.astype(jnp.float32)


# --------------------------------------------------------------------------- #
# Hand-written: the same math, batched.


def _mlp(layers, x):
    (w0, b0), (w1, b1) = layers
    return jnp.tanh(x @ w0 + b0) @ w1 + b1


def _log_px(kind: str, levels: int, logits, x):
    """``log p(x | z)``, summed over the data axis; ``x`` broadcasts."""
    if kind == "bernoulli":
        return jnp.sum(x * logits - jax.nn.softplus(logits), -1)
    logits = logits.reshape(logits.shape[:-1] + (-1, levels))
    log_p = logits - jax.scipy.special.logsumexp(logits, -1, keepdims=True)
    index = jnp.broadcast_to(x.astype(jnp.int32), log_p.shape[:-1])[..., None]
    return jnp.sum(jnp.take_along_axis(log_p, index, -1)[..., 0], -1)


def hand_loss(model: str, objective: str, num_samples: int):
    """The hand-written loss of ``model``: ``loss(key, params, x)``."""
    _, _, latent, kind, levels = MODELS[model]
    k = num_samples

    def loss(key, params, x):
        mu, log_sigma = jnp.split(_mlp(params.encoder, x), 2, -1)
        keys = jax.random.split(key, x.shape[0])
        eps = jax.vmap(lambda kk: jax.random.normal(kk, (k, latent)))(keys)
        sigma = jnp.exp(log_sigma)
        z = mu[:, None] + sigma[:, None] * eps  # (B, K, n)
        log_px = _log_px(kind, levels, _mlp(params.decoder, z), x[:, None])
        if objective == "elbo":
            kl = jnp.sum(0.5 * (mu**2 + sigma**2 - 1) - log_sigma, -1)
            bound = jnp.mean(log_px, 1) - kl
        else:
            log_w = log_px + jnp.sum(0.5 * (eps**2 - z**2) + log_sigma[:, None], -1)
            bound = jax.nn.logsumexp(log_w, 1) - math.log(k)
        return -jnp.mean(bound)

    return loss


# --------------------------------------------------------------------------- #
# numpyro: SVI on the same model and guide.


def _numpyro_svi(model: str, elbo, params, x):
    """An ``SVI`` whose ``update`` is the step (``init`` run once, for its maps)."""
    import numpyro
    from numpyro.infer import SVI
    from numpyro.optim import optax_to_numpyro

    _, _, latent, kind, levels = MODELS[model]
    dist = numpyro_dist()

    def np_model(x):
        decoder = numpyro.param("decoder", params.decoder)
        with numpyro.plate("data", x.shape[0]):
            z = numpyro.sample("z", dist.Normal(jnp.zeros(latent), 1.0).to_event(1))
            logits = _mlp(decoder, z)
            if kind == "bernoulli":
                likelihood = dist.Bernoulli(logits=logits)
                obs = x
            else:
                likelihood = dist.Categorical(
                    logits=logits.reshape(logits.shape[:-1] + (-1, levels))
                )
                obs = x.astype(jnp.int32)
            numpyro.sample("x", likelihood.to_event(1), obs=obs)

    def np_guide(x):
        encoder = numpyro.param("encoder", params.encoder)
        with numpyro.plate("data", x.shape[0]):
            mu, log_sigma = jnp.split(_mlp(encoder, x), 2, -1)
            numpyro.sample("z", dist.Normal(mu, jnp.exp(log_sigma)).to_event(1))

    svi = SVI(np_model, np_guide, optax_to_numpyro(OPTIMIZER), elbo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svi.init(jax.random.key(0), x)
    return svi


def _numpyro_step(svi):
    from numpyro.infer.svi import SVIState

    def step(key, params, opt_state, x):
        adam, *rest = opt_state

        def to_dict(p):
            return {"decoder": p.decoder, "encoder": p.encoder}

        state = adam._replace(mu=to_dict(adam.mu), nu=to_dict(adam.nu))
        svi_state = SVIState(
            (jnp.zeros((), jnp.int32), (to_dict(params), (state, *rest))), None, key
        )
        svi_state, loss = svi.update(svi_state, x)
        _, (new, (adam_new, *rest_new)) = svi_state.optim_state

        def back(d):
            return params._replace(encoder=d["encoder"], decoder=d["decoder"])

        adam_new = adam_new._replace(mu=back(adam_new.mu), nu=back(adam_new.nu))
        return back(new), (adam_new, *rest_new), loss

    return step


# --------------------------------------------------------------------------- #
# The rows.


def _hand_step(loss):
    def step(key, params, opt_state, x):
        value, grads = jax.value_and_grad(loss, argnums=1)(key, params, x)
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def _jr_step(vae):
    step = jr.make_step(vae.loss, OPTIMIZER)

    def run(key, params, opt_state, x):
        count = jnp.zeros((), jnp.int32)  # as jr.fit's first step
        params, opt_state, metrics = step(key, params, opt_state, x, count=count)
        return params, opt_state, metrics["loss"]

    return run


def _first_moment(out, scale=1.0):
    """Adam's first moment after one step from zero, and the loss (over ``scale``)."""
    _, opt_state, loss = out
    mu = jax.tree.map(lambda m: m / scale, opt_state[0].mu)
    return (mu.encoder, mu.decoder), loss / scale


def make_step_row(model: str, objective: str, num_samples: int) -> Row:
    """One Adam step of ``model`` on ``objective`` with ``K = num_samples``."""
    from numpyro.infer import RenyiELBO, TraceMeanField_ELBO

    vae = make_vae(model, objective, num_samples)
    params = vae.init(jax.random.key(3))
    x = data(model)
    per_point = functools.partial(_first_moment, scale=x.shape[0])
    contenders = [
        Contender(
            "hand-written",
            _hand_step(hand_loss(model, objective, num_samples)),
            check_output=_first_moment,
        ),
        Contender("jaxreparam", _jr_step(vae), check_output=_first_moment),
    ]
    if objective == "elbo":
        peers = {"numpyro": TraceMeanField_ELBO()}
    else:
        peers = {"numpyro": RenyiELBO(alpha=0.0, num_particles=num_samples)}
    for name, elbo in peers.items():
        contenders.append(
            Contender(
                name,
                _numpyro_step(_numpyro_svi(model, elbo, params, x)),
                same_noise=False,
                check_output=per_point,
            )
        )
    label = "ELBO" if objective == "elbo" else f"IWAE K={num_samples}"
    return Row(
        workload=f"{STEP}, batch {BATCH}",
        size=f"{model} {label}",
        elements=x.size * num_samples,
        args=(jax.random.key(0), params, OPTIMIZER.init(params), x),
        contenders=contenders,
    )


# --------------------------------------------------------------------------- #
# The test log-likelihood.

LL_MODEL = "digits 64-200-8"


def hand_log_likelihood(num_samples: int, chunk_size: int, batch_size: int):
    """Hand-written importance sampling with the library's draws and chunks."""
    _, _, latent, kind, levels = MODELS[LL_MODEL]
    num_chunks = -(-num_samples // chunk_size)

    def log_likelihood(key, params, x):
        mu, log_sigma = jnp.split(_mlp(params.encoder, x), 2, -1)
        keys = jax.random.key_data(jax.random.split(key, x.shape[0]))

        def one(item):
            key_data, mu_i, log_sigma_i, x_i = item
            draws = jax.random.split(
                jax.random.wrap_key_data(key_data), num_chunks * chunk_size
            )
            draws = jax.random.key_data(draws).reshape(num_chunks, chunk_size, -1)

            def step(carry, chunk):
                m, s1, s2, start = carry
                eps = jax.vmap(lambda k: jax.random.normal(k, (latent,)))(
                    jax.random.wrap_key_data(chunk)
                )
                z = mu_i + jnp.exp(log_sigma_i) * eps
                log_w = _log_px(kind, levels, _mlp(params.decoder, z), x_i)
                log_w += jnp.sum(0.5 * (eps**2 - z**2) + log_sigma_i, -1)
                index = start + jnp.arange(chunk_size)
                log_w = jnp.where(index < num_samples, log_w, -jnp.inf)
                m_new = jnp.maximum(m, jnp.max(log_w))
                scale = jnp.exp(m - m_new)
                w = jnp.exp(log_w - m_new)
                carry = (
                    m_new, s1 * scale + jnp.sum(w), s2 * scale**2 + jnp.sum(w**2),
                    start + chunk_size,
                )  # fmt: skip
                return carry, None

            zero = jnp.zeros((), x.dtype)
            init = (jnp.asarray(-jnp.inf, x.dtype), zero, zero, 0)
            (m, s1, s2, _), _ = jax.lax.scan(step, init, draws)
            mean1, mean2 = s1 / num_samples, s2 / num_samples
            variance = (mean2 - mean1**2) * num_samples / (num_samples - 1)
            value = m + jnp.log(s1) - math.log(num_samples)
            return value, jnp.sqrt(jnp.maximum(variance, 0.0) / num_samples) / mean1

        return jax.lax.map(one, (keys, mu, log_sigma, x), batch_size=batch_size)

    return log_likelihood


def _jr_log_likelihood(num_samples: int, chunk_size: int, batch_size: int):
    vae = make_vae(LL_MODEL, "elbo", 1)

    def log_likelihood(key, params, x):
        out = jr.vae.log_likelihood(
            key, vae, params, x, num_samples=num_samples,
            chunk_size=chunk_size, batch_size=batch_size,
        )  # fmt: skip
        return tuple(out)

    return log_likelihood


def memory(fn, args) -> int:
    """The compiled program's temporary memory in bytes (``memory_analysis()``)."""
    analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    return int(analysis.temp_size_in_bytes)


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def make_log_likelihood_row(
    num_points: int, num_samples: int, chunk_size: int, batch_size: int = LL_BATCH
) -> Row:
    """``log_likelihood`` of ``num_points`` digits test points, ``K`` draws each."""
    params = make_vae(LL_MODEL, "elbo", 1).init(jax.random.key(3))
    x = data(LL_MODEL, num_points, split="test")
    args = (jax.random.key(1), params, x)
    unchunked = "jaxreparam (unchunked)"
    fns = {
        "hand-written": hand_log_likelihood(num_samples, chunk_size, batch_size),
        "jaxreparam": _jr_log_likelihood(num_samples, chunk_size, batch_size),
        unchunked: _jr_log_likelihood(num_samples, num_samples, batch_size),
    }
    sizes = {name: memory(fn, args) for name, fn in fns.items()}
    notes = (
        f"compiled temporary memory: jaxreparam {_mib(sizes['jaxreparam'])} "
        f"(chunks of {chunk_size}, {batch_size} points at a time), hand-written "
        f"{_mib(sizes['hand-written'])}, unchunked {_mib(sizes[unchunked])}"
    )
    return Row(
        workload=f"{LOG_LIKELIHOOD} ({LL_MODEL})",
        size=f"N={num_points} K={num_samples}",
        elements=num_points * num_samples,
        args=args,
        contenders=[Contender(name, fn) for name, fn in fns.items()],
        notes=notes,
    )


def rows(mode: str) -> list[Row]:
    """The rows of ``mode`` (``"quick"`` or ``"full"``)."""
    out = [make_step_row(*size) for size in STEP_SIZES[mode]]
    out += [make_log_likelihood_row(*size) for size in LL_SIZES[mode]]
    return out


def full_test_set(rounds: int = 3, echo=print) -> dict:
    """``K = 5000`` on the 360 digits test points: CPU seconds and memory.

    Too long for a table row's repeats (about 15 s of CPU a call), so measured
    here, ``rounds`` interleaved calls each: ``python -m benchmarks.vae_model``.
    Also the compiled temporary memory with 8, 64 and all 360 points at a time,
    chunked (500 draws) and unchunked (5000).
    """
    import time

    num, chunk = 5000, 500
    row = make_log_likelihood_row(360, num, chunk)
    echo(row.notes)
    out: dict = {"seconds": {}, "memory": {}}
    compiled = {
        c.name: jax.jit(c.fn).lower(*row.args).compile() for c in row.contenders
    }
    samples: dict = {name: [] for name in compiled}
    for _ in range(rounds):
        for name, fn in compiled.items():
            start = time.process_time()
            jax.block_until_ready(fn(*row.args))
            samples[name].append(time.process_time() - start)
    for name, values in samples.items():
        out["seconds"][name] = float(np.median(values))
        echo(f"{name}: {np.median(values):.2f} s CPU (median of {rounds})")
    args = row.args
    for batch in (8, 64, 360):
        for size in (chunk, num):
            fn = _jr_log_likelihood(num, size, batch)
            out["memory"][(batch, size)] = used = memory(fn, args)
            echo(f"points at a time {batch}, chunk {size}: {_mib(used)}")
    return out


if __name__ == "__main__":
    full_test_set(rounds=1)
