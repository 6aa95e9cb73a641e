"""Tests of the rational-quadratic splines (Durkan et al. 2019).

The float64 values and log-derivatives are compared with a plain NumPy
implementation written here from the paper's formulas (eqs. 4 and 5, bin by
bin, with the parameterization of the module docstring), which is in turn
checked by integrating its derivative with scipy and inverting it by bisection.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from jax.experimental import checkify

import jaxreparam as jr
from tests.bijectors.case import Case

jb = jr.bijectors
spline = jb.rational_quadratic_spline


def _random_params(shape=(3,), num_bins=6, bound=3.0, scale=1.0):
    """``SplineParams`` with standard-normal raw numbers times ``scale``."""

    def init(key):
        keys = jax.random.split(key, 3)
        sizes = [(*shape, num_bins), (*shape, num_bins), (*shape, num_bins - 1)]
        raw = [
            scale * jax.random.normal(k, s) for k, s in zip(keys, sizes, strict=True)
        ]
        return jb.SplineParams(*raw, jnp.full(shape, bound))

    return init


def perturbed(bijector, scale=0.5):
    """``init`` with every conditioner weight (the zero last layer too) moved."""

    def init(key):
        init_key, noise_key = jax.random.split(key)
        params = bijector.init(init_key)
        leaves, tree = jax.tree.flatten(params)
        keys = jax.random.split(noise_key, len(leaves))
        leaves = [
            leaf + scale * jax.random.normal(k, leaf.shape)
            for leaf, k in zip(leaves, keys, strict=True)
        ]
        return jax.tree.unflatten(tree, leaves)

    return init


def _layer_case(bijector, shape, context_shape=None):
    # moderate weights: larger ones make the splines nearly flat (slopes below
    # 1e-4) at some test points, where float32 cannot invert to 1e-4
    return Case(bijector, perturbed(bijector, 0.2), shape, context_shape)


CASES = {
    "rational_quadratic_spline": Case(spline, _random_params(), (5, 3)),
    "rational_quadratic_spline_bounds": Case(  # a bound per coordinate
        spline,
        lambda key: _random_params(num_bins=4)(key)._replace(
            bound=jnp.array([0.5, 2.0, 4.0])
        ),
        (6, 3),
    ),
    "rational_quadratic_spline_keyed_init": Case(
        spline, lambda key: spline.init(key, shape=(2,), num_bins=3), (4, 2)
    ),
    "spline_coupling": _layer_case(
        jb.spline_coupling(4, num_bins=5, hidden_sizes=(8,)), (5, 4)
    ),
    "spline_coupling_context": _layer_case(
        jb.spline_coupling(3, num_bins=4, hidden_sizes=(8,), context_size=2),
        (4, 3),
        (4, 2),
    ),
    "spline_autoregressive": _layer_case(
        jb.spline_autoregressive(3, num_bins=5, hidden_sizes=(8,)), (4, 3)
    ),
    "invert_spline_autoregressive": _layer_case(
        jb.invert(jb.spline_autoregressive(3, num_bins=4, hidden_sizes=(8,))),
        (4, 3),
    ),
}


# --------------------------------------------------------------------------- #
# The reference: NumPy, float64, the paper's formulas bin by bin.


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def _reference_knots(widths, heights, derivatives, bound, min_size=1e-3):
    """Knots and derivatives of one coordinate, as the module docstring says."""
    k = len(widths)
    w = 2 * bound * (min_size + (1 - min_size * k) * _softmax(widths))
    h = 2 * bound * (min_size + (1 - min_size * k) * _softmax(heights))
    xs = np.concatenate([[-bound], -bound + np.cumsum(w)])
    ys = np.concatenate([[-bound], -bound + np.cumsum(h)])
    xs[-1] = ys[-1] = bound
    elu = np.where(derivatives > 0, derivatives, np.expm1(np.minimum(derivatives, 0)))
    d = np.concatenate([[1.0], 1.0 + (1 - 1e-3) * elu, [1.0]])
    return xs, ys, d


def _reference(xs, ys, d, x):
    """Eq. (4) and the log of eq. (5) at the scalar ``x``; the identity outside."""
    if not xs[0] <= x <= xs[-1]:
        return x, 0.0
    k = min(int(np.searchsorted(xs, x, side="right")) - 1, len(xs) - 2)
    w, h = xs[k + 1] - xs[k], ys[k + 1] - ys[k]
    s, t = h / w, (x - xs[k]) / w
    denominator = s + (d[k + 1] + d[k] - 2 * s) * t * (1 - t)
    y = ys[k] + h * (s * t**2 + d[k] * t * (1 - t)) / denominator
    derivative = (
        s**2
        * (d[k + 1] * t**2 + 2 * s * t * (1 - t) + d[k] * (1 - t) ** 2)
        / denominator**2
    )
    return y, np.log(derivative)


def _params64(params):
    return jax.tree.map(lambda p: np.asarray(p, np.float64), params)


def test_reference_is_consistent_with_its_derivative():
    """The reference's y - (-bound) equals the integral of its derivative."""
    params = _params64(_random_params((), num_bins=5)(jax.random.key(0)))
    xs, ys, d = _reference_knots(*params[:3], 3.0)
    for x in (-2.5, -0.3, 0.0, 1.7, 3.0):
        integral = sum(  # bin by bin, where the derivative is smooth
            scipy.integrate.quad(
                lambda u: np.exp(_reference(xs, ys, d, u)[1]),
                lo,
                min(hi, x),
                epsabs=1e-13,
                epsrel=1e-13,
            )[0]
            for lo, hi in zip(xs[:-1], xs[1:], strict=True)
            if lo < x
        )
        np.testing.assert_allclose(
            _reference(xs, ys, d, x)[0], -3.0 + integral, rtol=1e-11
        )


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_values_and_log_det_match_the_reference_in_float64(scale):
    with jax.enable_x64(True):
        params = _params64(
            _random_params((4,), num_bins=7, scale=scale)(jax.random.key(1))
        )
        x = np.linspace(-3.5, 3.5, 301)[:, None] * np.array([1.0, 0.9, -0.7, 0.3])
        y, log_det = spline.forward(params, jnp.asarray(x))
        x_back, inverse_log_det = spline.inverse(params, y)
        y, log_det, x_back, inverse_log_det = (
            np.asarray(a) for a in (y, log_det, x_back, inverse_log_det)
        )
    for i in range(4):
        knots = _reference_knots(*(p[i] for p in params[:3]), 3.0)
        expected = np.array([_reference(*knots, v) for v in x[:, i]])
        np.testing.assert_allclose(y[:, i], expected[:, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            log_det[:, i], expected[:, 1], rtol=1e-10, atol=1e-10
        )
    # backward error: the round trip's miss, measured in y (where the spline
    # is flat, x is ill-determined by y and the miss in x grows by 1 / slope)
    np.testing.assert_allclose((x_back - x) * np.exp(log_det), 0.0, atol=1e-12)
    for i in range(4):
        knots = _reference_knots(*(p[i] for p in params[:3]), 3.0)
        at_x_back = np.array([_reference(*knots, v)[1] for v in x_back[:, i]])
        np.testing.assert_allclose(
            inverse_log_det[:, i], -at_x_back, rtol=1e-10, atol=1e-10
        )


def test_inverse_matches_bisection_of_the_reference():
    """The closed-form inverse against a bisection of the reference forward."""
    with jax.enable_x64(True):
        params = _params64(_random_params((), num_bins=8, scale=2.0)(jax.random.key(2)))
        knots = _reference_knots(*params[:3], 3.0)
        targets = np.linspace(-2.99, 2.99, 41)
        x, _ = spline.inverse(params, jnp.asarray(targets))
    for target, ours in zip(targets, np.asarray(x), strict=True):
        lo, hi = -3.0, 3.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _reference(*knots, mid)[0] < target else (lo, mid)
        np.testing.assert_allclose(ours, 0.5 * (lo + hi), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- #
# The identity at raw = 0, monotonicity, the tails.


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_raw_zero_is_the_identity_bitwise(dtype):
    with jax.enable_x64(dtype == jnp.float64):
        x = 4.0 * jax.random.normal(jax.random.key(3), (2000,), dtype)
        x = jnp.concatenate([x, jnp.array([-3.0, 3.0, -1e4, 1e4, 0.0], dtype)])
        for num_bins in (1, 4):
            transformer = jb.spline_transformer(num_bins, bound=2.5)
            raw = jnp.zeros((transformer.num_params,), dtype)
            for function in (transformer.forward, transformer.inverse):
                for f in (function, jax.jit(function)):
                    y, log_det = f(raw, x)
                    assert y.dtype == log_det.dtype == dtype
                    np.testing.assert_array_equal(y, x)
                    np.testing.assert_array_equal(log_det, np.zeros(x.shape))
        params = jax.tree.map(
            lambda p: p.astype(dtype), spline.init(shape=(x.shape[0],))
        )
        for function in (spline.forward, spline.inverse):
            y, log_det = function(params, x)
            np.testing.assert_array_equal(y, x)
            np.testing.assert_array_equal(log_det, np.zeros(x.shape))


@pytest.mark.parametrize("scale", [1.0, 5.0, 50.0])
def test_increasing_on_a_dense_grid(scale):
    """Any raw numbers (large ones as after a wild optimizer step) stay increasing."""
    params = _random_params((3,), num_bins=8, scale=scale)(jax.random.key(4))
    with jax.enable_x64(True):
        grid = jnp.linspace(-3.2, 3.2, 20001)[:, None]
        y, log_det = spline.forward(_params64(params), grid)
        assert bool(jnp.all(jnp.diff(y, axis=0) > 0))
        assert bool(jnp.all(jnp.isfinite(log_det)))
        x_back, _ = spline.inverse(_params64(params), y)  # increasing too
        assert bool(jnp.all(jnp.diff(x_back, axis=0) > 0))
    y32, log_det32 = spline.forward(params, grid.astype(jnp.float32))
    # float32: where the slope is tiny the steps are below the rounding of y,
    # so they may go back by an ulp or two, never more
    ulp = np.spacing(np.abs(np.asarray(y32[1:])))
    assert np.all(np.diff(np.asarray(y32), axis=0) >= -4 * ulp)
    assert bool(jnp.all(jnp.isfinite(log_det32)))


def test_outside_the_interval_is_the_identity():
    params = _random_params((3,), scale=2.0)(jax.random.key(5))
    x = jnp.array([-1e4, -3.0001, 3.0001, 7.0, 1e4, 1e30, -jnp.inf, jnp.inf])[:, None]
    for function in (spline.forward, spline.inverse):
        y, log_det = function(params, jnp.broadcast_to(x, (8, 3)))
        np.testing.assert_array_equal(y, jnp.broadcast_to(x, (8, 3)))
        np.testing.assert_array_equal(log_det, np.zeros((8, 3)))


def _edge_points(knots):
    """Each knot, its float32 neighbours, +-bound and far outside."""
    knots = np.asarray(knots, np.float32)
    nudged = np.concatenate(
        [knots, np.nextafter(knots, np.float32(-np.inf)), np.nextafter(knots, np.inf)]
    )
    far = np.array([-1e4, 1e4, -3.0, 3.0, 0.0], np.float32)
    return jnp.asarray(np.concatenate([nudged, far]))


@pytest.mark.slow
def test_float32_finite_values_and_gradients_at_the_edges():
    """Values and gradients in x and in the raw numbers: finite everywhere."""
    x_knots = np.array([-3.0, -2.0, -1.99, -0.5, 1.0, 2.9, 3.0])
    y_knots = np.array([-3.0, -2.99, -1.0, 0.0, 0.01, 1.0, 3.0])
    hand = spline.init(knots=(x_knots, y_knots, np.array([0.01, 50.0, 1.0, 0.002, 3])))
    extreme = _random_params((), num_bins=6, scale=20.0)(jax.random.key(6))
    for params in (hand, extreme):
        for function, points in (
            (spline.forward, _edge_points(x_knots)),
            (spline.inverse, _edge_points(y_knots)),
        ):

            def total(params, v, function=function):
                y, log_det = function(params, v)
                return y + log_det

            values = jax.vmap(total, (None, 0))(params, points)
            grad_params, grad_v = jax.vmap(jax.grad(total, (0, 1)), (None, 0))(
                params, points
            )
            assert bool(jnp.all(jnp.isfinite(values)))
            assert bool(jnp.all(jnp.isfinite(grad_v)))
            for leaf in jax.tree.leaves(grad_params):
                assert bool(jnp.all(jnp.isfinite(leaf)))
            np.testing.assert_array_equal(grad_params.bound, 0.0)  # fixed


@pytest.mark.slow  # the bijector's edge test covers the same code
def test_transformer_float32_gradients_finite_at_the_edges():
    transformer = jb.spline_transformer(num_bins=4, bound=3.0)
    raw = 10.0 * jax.random.normal(jax.random.key(8), (transformer.num_params,))
    points = _edge_points(np.linspace(-3.0, 3.0, 5))
    for function in (transformer.forward, transformer.inverse):

        def total(raw, v, function=function):
            y, log_det = function(raw, v)
            return y + log_det

        grad_raw, grad_v = jax.vmap(jax.grad(total, (0, 1)), (None, 0))(raw, points)
        assert bool(jnp.all(jnp.isfinite(jax.vmap(total, (None, 0))(raw, points))))
        assert bool(jnp.all(jnp.isfinite(grad_raw)))
        assert bool(jnp.all(jnp.isfinite(grad_v)))


def test_gradients_in_the_raw_numbers_match_finite_differences():
    with jax.enable_x64(True):
        transformer = jb.spline_transformer(num_bins=4, bound=2.0)
        raw = jax.random.normal(jax.random.key(9), (3, transformer.num_params), float)
        x = jnp.array([-1.5, 0.3, 1.9])

        def loss(raw):
            y, log_det = transformer.forward(raw, x)
            z, inverse_log_det = transformer.inverse(raw, 0.5 * x)
            return jnp.sum(y * y + log_det + z + inverse_log_det)

        grad = jax.grad(loss)(raw)
        eps = 1e-6
        for index in np.ndindex(raw.shape):
            step = jnp.zeros_like(raw).at[index].set(eps)
            numeric = (loss(raw + step) - loss(raw - step)) / (2 * eps)
            np.testing.assert_allclose(grad[index], numeric, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- #
# Hand-given knots.


def test_hand_knots_are_honoured():
    x_knots = np.array([-2.0, -1.2, 0.5, 0.6, 2.0])
    y_knots = np.array([-2.0, 0.0, 0.1, 1.5, 2.0])
    derivatives = np.array([0.3, 4.0, 0.05])
    # float32: a knot's position is honoured up to rounding, and the derivative
    # there moves with the position (by up to a few hundred times here)
    for dtype, rtol, derivative_rtol in (
        (jnp.float32, 2e-6, 1e-4),
        (jnp.float64, 1e-13, 1e-11),
    ):
        with jax.enable_x64(dtype == jnp.float64):
            params = spline.init(
                bound=jnp.asarray(2.0, dtype),
                knots=(
                    jnp.asarray(x_knots, dtype),
                    jnp.asarray(y_knots, dtype),
                    jnp.asarray(derivatives, dtype),
                ),
            )
            y, log_det = spline.forward(params, jnp.asarray(x_knots, dtype))
            assert y.dtype == dtype
            np.testing.assert_allclose(y, y_knots, rtol=rtol, atol=4 * rtol)
            np.testing.assert_allclose(
                np.exp(log_det), [1.0, *derivatives, 1.0], rtol=derivative_rtol
            )


def test_hand_knots_broadcast_with_shape():
    params = spline.init(
        knots=([-3.0, 0.0, 3.0], [[-3.0, -1.0, 3.0], [-3.0, 1.0, 3.0]], [2.0]),
        shape=(2,),
    )
    assert params.widths.shape == (2, 2)
    assert params.derivatives.shape == (2, 1)
    y, _ = spline.forward(params, jnp.zeros(2))
    np.testing.assert_allclose(y, [-1.0, 1.0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("knots", "message"),
    [
        (([-3.0, 1.0, -1.0, 3.0], [-3.0, 0.0, 1.0, 3.0], [1.0, 1.0]), "x_knots.*-1.0"),
        (([-3.0, -1.0, 3.0], [-3.0, 0.0, 2.9], [0.5]), "y_knots.*2.9"),
        (([-2.0, -1.0, 3.0], [-3.0, 0.0, 3.0], [0.5]), "x_knots.*-2.0"),
        (([-3.0, -1.0, 3.0], [-3.0, 0.0, 3.0], [0.0]), "derivatives.*0.0"),
        (([-3.0, -1.0, 3.0], [-3.0, 0.0, 3.0], [np.nan]), "derivatives.*nan"),
        (([-3.0, np.nan, 3.0], [-3.0, 0.0, 3.0], [1.0]), "x_knots.*nan"),
        (([-3.0, -3.0, 3.0], [-3.0, 0.0, 3.0], [1.0]), "x_knots.*-3.0 at index"),
        (([-3.0, -1.0, 3.0], [-3.0, 0.0, 3.0], [1.0, 1.0]), "derivatives holds the 1"),
        (([-3.0, -1.0, 3.0], [-3.0, 3.0], [1.0]), "same number"),
    ],
)
def test_bad_hand_knots_raise_naming_the_argument(knots, message):
    with pytest.raises(ValueError, match=message):
        spline.init(knots=knots)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="num_bins is 3 but x_knots has 3 knots"):
        spline.init(num_bins=3, knots=([-3.0, 0.0, 3.0], [-3.0, 0.0, 3.0], [1.0]))
    with pytest.raises(ValueError, match="bound must be finite and positive"):
        spline.init(bound=-1.0)
    with pytest.raises(TypeError, match="knots must be a tuple"):
        spline.init(knots=np.zeros(3))
    with pytest.raises(TypeError, match="num_bins must be an int"):
        spline.init(num_bins=2.0)
    with pytest.raises(ValueError, match="num_bins must be at least 1"):
        jb.spline_transformer(0)
    with pytest.raises(ValueError, match="bound must be finite and positive"):
        jb.spline_transformer(4, bound=0.0)
    with pytest.raises(ValueError, match="min_bin_size"):
        jb.spline_transformer(4, min_bin_size=0.25)
    with pytest.raises(ValueError, match="raw must have 11 numbers"):
        jb.spline_transformer(4).forward(jnp.zeros((3, 12)), jnp.zeros(3))


def _forward_at_zero(x_knots):
    params = spline.init(knots=(x_knots, jnp.array([-3.0, 0.0, 3.0]), jnp.ones(1)))
    return spline.forward(params, jnp.array([0.0, -1.0, 5.0]))[0]


def test_invalid_traced_knots_give_nan_or_raise_when_checked():
    bad = jnp.array([-3.0, jnp.nan, 3.0])
    assert bool(jnp.all(jnp.isnan(jax.jit(_forward_at_zero)(bad))))  # inside & out
    unordered = jnp.array([-3.0, 4.0, 3.0])
    assert bool(jnp.all(jnp.isnan(jax.jit(_forward_at_zero)(unordered))))
    good = jax.jit(_forward_at_zero)(jnp.array([-3.0, 0.0, 3.0]))
    np.testing.assert_allclose(good, [0.0, -1.0, 5.0], atol=1e-6)
    with pytest.raises(checkify.JaxRuntimeError, match="x_knots must be strictly"):
        jr.checked(jax.jit(_forward_at_zero))(unordered)


def test_keyed_init_is_random_and_near_the_identity():
    params = spline.init(jax.random.key(10), shape=(4,), num_bins=5)
    assert params.widths.shape == params.heights.shape == (4, 5)
    assert params.derivatives.shape == (4, 4)
    assert params.bound.shape == (4,)
    x = jnp.linspace(-2.0, 2.0, 4)
    y, _ = spline.forward(params, x)
    assert bool(jnp.all(y != x))
    assert float(jnp.max(jnp.abs(y - x))) < 0.5


def test_spline_layers_start_at_the_identity_and_train_in_flows():
    x = jnp.array([[0.5, -1.0, 2.0, 7.0], [-4.0, 0.1, 0.0, 2.9]])
    for layer in (
        jb.spline_coupling(4, hidden_sizes=(8,)),
        jb.spline_autoregressive(4, hidden_sizes=(8,)),
    ):
        assert layer.name in ("spline_coupling", "spline_autoregressive")
        params = layer.init(jax.random.key(12))
        for function in (layer.forward, layer.inverse):
            y, log_det = function(params, x)
            np.testing.assert_array_equal(y, x)
            np.testing.assert_array_equal(log_det, np.zeros(2))
