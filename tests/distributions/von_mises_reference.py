"""scipy's von Mises as a variable on ``[-pi, pi)`` whatever its mean direction.

``scipy.stats.vonmises(kappa, loc=mu)`` lives on ``[mu - pi, mu + pi]``; the
library's family wraps its samples into ``[-pi, pi)``. This reference has the
same density (periodic) and measures its CDF from ``-pi``, so KS tests, CDFs and
expectations compare like with like. scipy's own CDF (series below concentration
50, a normal approximation above) is accurate for the concentrations used here.
"""

import numpy as np
import scipy.stats as st


def wrap(x):
    """``x`` moved by a multiple of ``2 pi`` into ``[-pi, pi)``."""
    return np.mod(np.asarray(x) + np.pi, 2 * np.pi) - np.pi


class _WrappedVonMises(st.rv_continuous):
    def _argcheck(self, kappa, mu):
        return (kappa > 0) & np.isfinite(mu)

    def _logpdf(self, x, kappa, mu):
        return st.vonmises.logpdf(wrap(x - mu), kappa)

    def _pdf(self, x, kappa, mu):
        return np.exp(self._logpdf(x, kappa, mu))

    def _cdf(self, x, kappa, mu):
        centred, start = wrap(x - mu), wrap(-np.pi - mu)
        value = st.vonmises.cdf(centred, kappa) - st.vonmises.cdf(start, kappa)
        return np.where(centred < start, value + 1, value)

    def _entropy(self, kappa, mu):
        return st.vonmises.entropy(kappa)


wrapped_von_mises = _WrappedVonMises(
    a=-np.pi, b=np.pi, name="wrapped_von_mises", shapes="kappa, mu"
)
