"""A small separable CMA-ES (diagonal covariance; Ros and Hansen, PPSN 2008) in numpy.

The NAAS mapper runs thousands of short generations (16 mappings each, a few hundred
microseconds to decode and price), so the per-generation bookkeeping of the ``cma``
package (about 1.5 ms for ask and tell) cost more than the search itself. This is the
same algorithm with the default parameters of Hansen's tutorial (arXiv:1604.00772) and the
sep-CMA learning rates scaled by (n + 2) / 3, with no stopping rules of its own beyond a
collapsed step size (the mapper restarts on stalls).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SepCmaEs"]


class SepCmaEs:
    """Minimises by sampling ``popsize`` points from N(mean, sigma^2 diag(c)) per generation.

    Args:
        x0: The first mean, float (n,).
        sigma: The first step size.
        popsize: Samples per generation (lambda); the best half recombine.
        rng: Source of the normal samples (advanced in place).
        min_std: Lower bound of every coordinate's standard deviation ``sigma * sqrt(c)``.
    """

    def __init__(self, x0: np.ndarray, sigma: float, popsize: int, rng: np.random.Generator,
                 min_std: float = 0.0) -> None:
        self.mean = np.array(x0, dtype=np.float64)
        n = len(self.mean)
        self.sigma, self.lam, self.rng, self.min_std = float(sigma), int(popsize), rng, float(min_std)
        mu = self.lam // 2
        w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        self.weights = w / w.sum()
        self.mu_eff = 1.0 / float((self.weights ** 2).sum())
        me = self.mu_eff
        self.c_sigma = (me + 2) / (n + me + 5)
        self.d_sigma = 1 + 2 * max(0.0, math.sqrt((me - 1) / (n + 1)) - 1) + self.c_sigma
        self.c_c = (4 + me / n) / (n + 4 + 2 * me / n)
        scale = (n + 2) / 3  # sep-CMA: the diagonal can learn faster
        self.c_1 = min(1.0, scale * 2 / ((n + 1.3) ** 2 + me))
        self.c_mu = min(1 - self.c_1, scale * 2 * (me - 2 + 1 / me) / ((n + 2) ** 2 + me))
        self.chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        self.c = np.ones(n)
        self.p_sigma = np.zeros(n)
        self.p_c = np.zeros(n)
        self.generation = 0
        self._z: np.ndarray | None = None

    def ask(self) -> np.ndarray:
        """float (popsize, n): this generation's samples."""
        self._z = self.rng.standard_normal((self.lam, len(self.mean)))
        return self.mean + self.sigma * np.sqrt(self.c) * self._z

    def tell(self, fitness: np.ndarray) -> None:
        """Update from the fitness (minimised) of the samples of the last :meth:`ask`, in their order."""
        assert self._z is not None, "tell before ask"
        order = np.argsort(np.asarray(fitness, dtype=np.float64), kind="stable")[: len(self.weights)]
        z = self._z[order]
        y = np.sqrt(self.c) * z
        z_w, y_w = self.weights @ z, self.weights @ y
        self.mean = self.mean + self.sigma * y_w
        cs, cc = self.c_sigma, self.c_c
        self.p_sigma = (1 - cs) * self.p_sigma + math.sqrt(cs * (2 - cs) * self.mu_eff) * z_w
        self.generation += 1
        norm = float(np.linalg.norm(self.p_sigma))
        h = norm / math.sqrt(1 - (1 - cs) ** (2 * self.generation)) < (1.4 + 2 / (len(self.mean) + 1)) * self.chi_n
        self.p_c = (1 - cc) * self.p_c + (math.sqrt(cc * (2 - cc) * self.mu_eff) * y_w if h else 0.0)
        rank_mu = self.weights @ (y * y)
        lost = 0.0 if h else cc * (2 - cc)  # the variance p_c did not carry when the update was stalled
        self.c = (1 - self.c_1 - self.c_mu) * self.c + self.c_1 * (self.p_c ** 2 + lost * self.c) + self.c_mu * rank_mu
        self.sigma *= math.exp(min(1.0, (cs / self.d_sigma) * (norm / self.chi_n - 1)))
        if self.min_std > 0:
            self.c = np.maximum(self.c, (self.min_std / self.sigma) ** 2)
        self._z = None

    def stop(self) -> bool:
        """The step size has collapsed (every coordinate's standard deviation below 1e-8)."""
        return bool(self.sigma * math.sqrt(float(self.c.max())) < 1e-8)
