"""Every registered family draws, scores and differentiates bit for bit as recorded.

``tests/golden/families.npz`` holds, for each case of ``tests/registry.py``, in
float32 and float64, eagerly and under ``jax.jit``: the params from ``init``, the
draws of ``sample`` and ``sample_and_log_prob`` under fixed keys, their
log-densities, and the gradients of ``sum(sample)`` (reparameterized families)
and of ``sum(log_prob)`` with respect to the params. It was recorded on the
commit before the library was reshaped (issue 11), so that a refactor that
changes any number, however slightly, fails here. Re-record only for an
intended change of behaviour, only the cases it touches, and say so in
CHANGELOG::

    python -m tests.distributions.test_golden --record bernoulli [more names]

Re-recorded since: ``bernoulli`` (issue 16: ``log_prob`` as one softplus of
``(1 - 2 z) logits``, exact at infinite logits; its log-densities and their
gradients moved by at most 2 ulp, its draws did not); ``bernoulli`` again
(issue 16, speed: the derivative of ``log_prob`` reuses the value's ``e^-|y|``
instead of ``sigmoid``; float32 gradients moved by at most 3 ulp per element, 8
in the recorded sum of five; log-densities and draws bitwise unchanged).
"""

from __future__ import annotations

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.registry import CASES

GOLDEN = pathlib.Path(__file__).parent / "golden" / "families.npz"
DTYPES = {"f32": jnp.float32, "f64": jnp.float64}
TRANSFORMS = {"eager": lambda f: f, "jit": jax.jit}


def _natural(case, dtype):
    return {k: jnp.asarray(v, dtype) for k, v in case.natural.items()}


def _flat(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        f"{prefix}{jax.tree_util.keystr(path)}": np.asarray(leaf)
        for path, leaf in leaves
    }


def compute(name: str, dtype_name: str, transform_name: str) -> dict[str, np.ndarray]:
    """The recorded arrays of one case, one dtype, one transform."""
    case = CASES[name]
    family = case.family
    transform = TRANSFORMS[transform_name]
    with jax.enable_x64(dtype_name == "f64"):
        params = family.init(**_natural(case, DTYPES[dtype_name]))
        z = transform(lambda k, p: family.sample(k, p, (5,)))(jax.random.key(0), params)
        log_prob = transform(family.log_prob)(params, z)
        z2, log_prob2 = transform(lambda k, p: family.sample_and_log_prob(k, p, (5,)))(
            jax.random.key(1), params
        )
        grad_log_prob = transform(jax.grad(lambda p: jnp.sum(family.log_prob(p, z))))(
            params
        )
        out = {"z": z, "log_prob": log_prob, "z2": z2, "log_prob2": log_prob2}
        out = {k: np.asarray(v) for k, v in out.items()}
        out |= _flat("params", params)
        out |= _flat("grad_log_prob", grad_log_prob)
        if family.reparameterized:
            grad_sample = transform(
                jax.grad(lambda p: jnp.sum(family.sample(jax.random.key(2), p, (5,))))
            )(params)
            out |= _flat("grad_sample", grad_sample)
    return out


def _all_keys(names=None):
    names = sorted(CASES) if names is None else names
    return [(name, d, t) for name in names for d in DTYPES for t in TRANSFORMS]


def _recorded():
    """The cases in the recording: a family added since has nothing to compare."""
    with np.load(GOLDEN) as data:
        return sorted({key.split("/")[0] for key in data.files})


def _params():
    """All slow (about 5 CPU-minutes): CI runs them; run them after any refactor."""
    return [pytest.param(*k, marks=pytest.mark.slow) for k in _all_keys(_recorded())]


def record(names: list[str]) -> None:
    """Re-records the cases ``names``, keeping every other case's arrays."""
    unknown = sorted(set(names) - set(CASES))
    if not names or unknown:
        sys.exit(f"name the cases to re-record (unknown: {unknown})")
    with np.load(GOLDEN) as data:
        arrays = {k: v for k, v in data.items() if k.split("/")[0] not in names}
    for name, d, t in _all_keys(names):
        for k, v in compute(name, d, t).items():
            arrays[f"{name}/{d}/{t}/{k}"] = v
    np.savez_compressed(GOLDEN, **arrays)
    print(f"re-recorded {', '.join(names)}: {len(arrays)} arrays in {GOLDEN}")


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.mark.parametrize(("name", "dtype_name", "transform_name"), _params())
def test_bitwise_equal_to_recording(golden, name, dtype_name, transform_name):
    prefix = f"{name}/{dtype_name}/{transform_name}/"
    expected = {k[len(prefix) :]: v for k, v in golden.items() if k.startswith(prefix)}
    assert expected, f"nothing recorded for {prefix}"
    got = compute(name, dtype_name, transform_name)
    assert set(got) == set(expected)
    for k, v in expected.items():
        assert got[k].dtype == v.dtype, k
        np.testing.assert_array_equal(got[k], v, err_msg=f"{prefix}{k}", strict=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--record"]:
        record(sys.argv[2:])
    else:
        sys.exit("usage: python -m tests.distributions.test_golden --record NAME...")
