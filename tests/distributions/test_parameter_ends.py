"""Every family at both ends of each natural argument's documented range.

For every case of the registry and every natural argument, with the other
arguments at the case's values: at each end of the argument's documented range
(``NaturalArg.range``) ``init``, ``sample`` (a fixed key, 24 draws),
``log_prob`` of the draws, ``sample_and_log_prob`` and the gradients of the
mean of a draw and of the mean log-density with respect to the params are all
finite, in float32 and float64, eagerly and under ``jax.jit``. Just outside a
finite end, ``init`` raises the documented ``ValueError`` eagerly and gives NaN
params under jit.

An argument without a documented range (``range=None``: the whole domain) is
tested at stand-ins for its domain's ends: ``+-1e30`` for a real value,
``1e-30`` and ``1e30`` for a positive one, ``-inf`` for a lower bound and
``+inf`` for an upper bound (their finite side is bounded by the other bound).
A family that declares no ``natural_args`` (the lead's discrete families) is
swept the same way from its case (``Case.positive``: positive, others real).

Moving one bound of an ordered pair (``Case.ordered``, e.g. uniform's
``low < high``) past the other moves that one along, to twice the end.

The jitted checks compile once per family and dtype (every end in one
``jax.vmap``); the default run makes them for ``registry.CORE`` in float32,
the slow run for every case in both dtypes, and the eager sweep (every end
in one batch of params, eagerly).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxreparam.distributions import _bundle
from tests.registry import CASES, CORE

#: Stand-ins for the ends of a domain, for an argument without a range.
WHOLE_DOMAIN = {
    "real": (-1e30, 1e30),
    "positive": (1e-30, 1e30),
    "lower_bound": (-math.inf, None),
    "upper_bound": (None, math.inf),
    "lower_cholesky": (1e-30, 1e30),
}
DRAWS = 24

#: Families whose boundaries are the lead's (issue 16, point 1): an end of theirs
#: that fails is expected to (strictly), so that its fix shows.
LEAD = {
    "bernoulli",
    "categorical",
    "relaxed_bernoulli",
    "relaxed_one_hot_categorical",
    "continuous_bernoulli",
}
#: Known failures that are no one's range: ``(case, argument, side)`` -> reason.
KNOWN: dict[tuple[str, str, str], str] = {}  # (case, argument, end): why it fails


def arguments(case):
    """``NaturalArg`` of each natural value of the case."""
    declared = {a.name: a for a in case.family.natural_args}
    return [
        declared.get(name)
        or _bundle.base.NaturalArg(
            name, "positive" if name in case.positive else "real"
        )
        for name in case.natural
    ]


def ends(arg):
    """``[(side, value)]``: the ends of ``arg``'s range, or of its domain."""
    low, high = arg.range if arg.range is not None else WHOLE_DOMAIN[arg.domain]
    return [(side, v) for side, v in (("low", low), ("high", high)) if v is not None]


def outside(arg, value, dtype):
    """The next value of ``dtype`` beyond the end ``value`` of ``arg.range``."""
    low, high = arg.range
    toward = -np.inf if value == low else np.inf
    return float(np.nextafter(np.asarray(value, dtype), np.asarray(toward, dtype)))


def at(case, arg, value):
    """The case's natural values with ``arg`` at ``value`` (numpy float64)."""
    natural = {k: np.asarray(v, np.float64) for k, v in case.natural.items()}
    old = natural[arg.name]
    if arg.domain == "lower_cholesky":  # the diagonal at the end, the rest scaled
        n = old.shape[-1]
        eye = np.eye(n, dtype=bool)
        scaled = np.where(eye, 1.0, old / np.diagonal(old, 0, -2, -1)[..., None, :])
        natural[arg.name] = np.where(eye, value, scaled * value)
    elif (
        arg.domain == "real" and arg.event_ndims >= 2
    ):  # a matrix (a covariance factor): scaled so that
        # its largest entry is the end (a constant one would be degenerate)
        natural[arg.name] = old / np.max(np.abs(old)) * value
    else:
        natural[arg.name] = np.full_like(old, value)
    order = getattr(case, "ordered", ())
    if arg.name in order:
        i = order.index(arg.name)
        step = max(1.0, abs(value))
        for other in order[i + 1 :]:
            if np.any(natural[other] <= value):
                natural[other] = np.full_like(natural[other], value + step)
        for other in order[:i]:
            if np.any(natural[other] >= value):
                natural[other] = np.full_like(natural[other], value - step)
    return natural


def points(case):
    """``[(argument, side, natural)]`` of every end of every argument."""
    return [(a, side, at(case, a, v)) for a in arguments(case) for side, v in ends(a)]


def stack(case, ends_here, dtype):
    """The natural values of ``ends_here`` (from :func:`points`), stacked first."""
    return {
        k: jnp.asarray(np.stack([p[2][k] for p in ends_here]), dtype)
        for k in case.natural
    }


def run(family, natural):
    """Everything the sweep checks, as a dict of arrays, from natural values."""
    params = family.init(**natural)
    z = family.sample(jax.random.key(0), params, (DRAWS,))
    z2, lp2 = family.sample_and_log_prob(jax.random.key(1), params, (DRAWS,))

    def mean_draw(p):
        return jnp.mean(family.sample(jax.random.key(2), p, (DRAWS,)))

    def mean_log_prob(p):
        draws = jax.lax.stop_gradient(family.sample(jax.random.key(3), p, (DRAWS,)))
        return jnp.mean(family.log_prob(p, draws))

    return {
        "params": params,
        "sample": z,
        "log_prob": family.log_prob(params, z),
        "sample_and_log_prob": (z2, lp2),
        "grad mean sample": jax.grad(mean_draw)(params),
        "grad mean log_prob": jax.grad(mean_log_prob)(params),
    }


def not_finite(out, infinite_bound=False):
    """The names of the outputs with a non-finite value (float leaves only).

    With ``infinite_bound`` (the end is an infinite bound), the params hold it
    exactly: only NaN counts there.
    """
    bad = []
    for name, value in out.items():
        ok = np.isfinite
        if infinite_bound and name == "params":
            ok = lambda x: ~np.isnan(x)  # noqa: E731
        leaves = [np.asarray(x) for x in jax.tree.leaves(value)]
        if any(
            np.issubdtype(x.dtype, np.floating) and not np.all(ok(x)) for x in leaves
        ):
            bad.append(name)
    return bad


def params_for(names, core_only):
    marks = []
    for name in names:
        case_marks = []
        if core_only and name not in CORE:
            case_marks.append(pytest.mark.slow)
        marks.append(pytest.param(name, marks=case_marks))
    return marks


DTYPES = [
    pytest.param(jnp.float32, id="float32"),
    pytest.param(jnp.float64, id="float64"),
]


def expect(case_name, failures):
    """Asserts no failure, except the lead's and the ``KNOWN`` ones (xfailed,
    strictly: every ``KNOWN`` end must still fail, so that its fix shows)."""
    if case_name in LEAD and failures:
        pytest.xfail(f"lead: issue 16 boundaries: {failures}")
    known = {k[1:]: v for k, v in KNOWN.items() if k[0] == case_name}
    failed = {(name, side) for name, side, _ in failures}
    assert not [f for f in failures if f[:2] not in known]
    if known:
        assert set(known) <= failed, "a KNOWN failure is fixed: drop it from KNOWN"
        pytest.xfail("; ".join(known.values()))


@pytest.mark.parametrize(
    "dtype",
    [DTYPES[0], pytest.param(jnp.float64, id="float64", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("name", params_for(list(CASES), core_only=True))
def test_ends_jitted(name, dtype):
    """Every end under one ``jax.jit(jax.vmap(...))``: all finite."""
    case = CASES[name]
    ends_here = points(case)
    with jax.enable_x64(dtype == jnp.float64):
        stacked = stack(case, ends_here, dtype)
        out = jax.jit(jax.vmap(lambda n: run(case.family, n)))(stacked)
        failures = []
        for i, (arg, side, _) in enumerate(ends_here):
            row = jax.tree.map(lambda x, i=i: x[i], out)
            bad = not_finite(row, arg.domain in ("lower_bound", "upper_bound"))
            if bad:
                failures.append((arg.name, side, bad))
    expect(name, failures)


#: The outputs of :func:`run` whose first axis is the batch (the others are
#: draws, with the batch after the draws' axis).
BATCH_FIRST = ("params", "grad mean sample", "grad mean log_prob")


def rows(out, count):
    """The ``count`` per-end rows of :func:`run` on params batched over ends."""
    return [
        {
            name: jax.tree.map(
                lambda x, i=i, first=name in BATCH_FIRST: x[i] if first else x[:, i],
                value,
            )
            for name, value in out.items()
        }
        for i in range(count)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_ends_eager(name, dtype):
    """Every end, eagerly (``init`` checks the concrete values): all finite.

    The ends go in as one batch of params, so that each eager ``jax.grad`` (which
    traces anew on every call, about half a second) is taken once per family
    rather than once per end; an end that fails is then run again on its own,
    which also covers a family whose params do not batch.
    """
    case = CASES[name]
    ends_here = points(case)
    failures = []
    with jax.enable_x64(dtype == jnp.float64):
        try:
            batched = rows(
                run(case.family, stack(case, ends_here, dtype)), len(ends_here)
            )
        except Exception:  # noqa: BLE001 - each end alone says what fails
            batched = [None] * len(ends_here)
        for (arg, side, natural), row in zip(ends_here, batched, strict=True):
            infinite = arg.domain in ("lower_bound", "upper_bound")
            if row is not None and not not_finite(row, infinite):
                continue
            values = {k: jnp.asarray(v, dtype) for k, v in natural.items()}
            bad = not_finite(run(case.family, values), infinite)
            if bad:
                failures.append((arg.name, side, bad))
    expect(name, failures)


def ranged(names):
    """``(case, argument, side)`` of every finite end of a documented range."""
    return [
        pytest.param(name, arg, side, id=f"{name}-{arg.name}-{side}")
        for name in names
        for arg in arguments(CASES[name])
        if arg.range is not None
        for side, _ in ends(arg)
    ]


RANGED = ranged(list(CASES))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "arg", "side"), RANGED)
def test_just_outside_a_range_is_rejected(name, arg, side, dtype):
    """Just beyond an end: a ``ValueError`` naming the argument, the value and
    the range, eagerly; NaN params under jit."""
    case = CASES[name]
    end = dict(ends(arg))[side]
    with jax.enable_x64(dtype == jnp.float64):
        beyond = outside(arg, end, np.dtype(dtype))
        natural = {k: jnp.asarray(v, dtype) for k, v in at(case, arg, beyond).items()}
        low, high = arg.range
        with pytest.raises(ValueError, match="must be in") as error:
            case.family.init(**natural)
        assert arg.name in str(error.value)
        assert f"[{low:g}, {high:g}], its documented range" in str(error.value)
        params = jax.jit(lambda n: case.family.init(**n))(natural)
        assert any(np.isnan(np.asarray(x)).any() for x in jax.tree.leaves(params))


def test_checking_mode_raises_outside_a_range():
    """In checking mode a value beyond the range raises, naming it."""
    import jaxreparam as jr

    arg = jr.normal.natural_args[1]
    beyond = 10 * arg.range[1]
    f = jr.checked(jax.jit(lambda s: jr.normal.init(loc=0.0, scale=s)))
    with pytest.raises(Exception, match="scale must be in"):
        f(jnp.float32(beyond))
    assert np.isfinite(f(jnp.float32(arg.range[1])).log_scale)


def test_every_positive_argument_documents_its_range():
    """A concentration, scale or rate has a range read from the family itself."""
    missing = [
        (name, a.name)
        for name, case in CASES.items()
        if case.family.name not in LEAD
        for a in case.family.natural_args
        if a.domain in ("positive", "lower_cholesky") and a.range is None
    ]
    assert not missing


def test_init_docstring_states_the_range():
    import jaxreparam as jr

    low, high = jr.gamma.natural_args[0].range
    assert f"in [{low:g}, {high:g}]" in jr.gamma.init.__doc__
