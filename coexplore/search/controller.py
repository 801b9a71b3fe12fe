"""REINFORCE controllers over a list of categorical decisions (domain-free), in numpy.

* :class:`LstmController`: the NAS controller of Zoph and Le (ICLR 2017). An LSTM emits one
  decision per step; the embedding of the choice made is the next step's input, so later
  decisions (an accelerator's) are conditioned on earlier ones (a network's), which a
  factorised softmax per decision cannot express.
* :class:`SoftmaxController`: one independent softmax per decision (the factorised policy, kept
  for ablations).

Both draw with the caller's numpy Generator (the same seed gives the same rows), may restrict a
step's choices by a mask (``allowed``: e.g. accelerator axes that still lead to a design of a
space) and may take the first decisions as given (``prefix``: new hardware for the same
network). Training is REINFORCE: ascend the batch mean of ``advantage_i * log p(decisions_i)``
(plus an optional entropy bonus), backpropagated through the steps and applied with Adam.

Numpy only, in float64: the controllers pickle with their strategy (a study resumes them
exactly), need no optional package and draw the same rows on every CPU. Their gradients are
checked against finite differences in the tests. Joint strategies keep their own rewards
(:mod:`coexplore.joint.codesign_rl`, :mod:`coexplore.joint.fnas_controller`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from coexplore.errors import SpecError

__all__ = ["Allowed", "LstmController", "SoftmaxController"]

#: ``allowed(step, prefix)`` -> bool (n, cards[step]): the choices open at ``step`` after ``prefix`` (n, step).
Allowed = Callable[[int, np.ndarray], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _check(cards: tuple[int, ...], lr: float) -> tuple[int, ...]:
    if not cards or any(not isinstance(c, (int, np.integer)) or c < 1 for c in cards):
        raise SpecError(f"controller.cards: must be positive integers, got {list(cards)!r}")
    if not lr > 0:
        raise SpecError(f"controller.lr: must be > 0, got {lr!r}")
    return tuple(int(c) for c in cards)


class _Controller(ABC):
    """Shared parts: masks, the draw, and the Adam step on ``params``."""

    cards: tuple[int, ...]
    lr: float
    params: dict[str, np.ndarray]

    def _init_adam(self) -> None:
        self._m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._t = 0

    def _mask(self, k: int, n: int, out: np.ndarray, masks: list[np.ndarray] | None,
              allowed: Allowed | None) -> np.ndarray:
        if masks is not None:
            mask = masks[k]
        elif allowed is not None:
            mask = np.asarray(allowed(k, out[:, :k]), dtype=bool)
        else:
            mask = np.ones((n, self.cards[k]), dtype=bool)
        if not mask.any(axis=1).all():
            raise SpecError(f"controller: decision {k} has no allowed choice for some sequence")
        return mask

    @staticmethod
    def _draw(prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One choice per row of ``prob`` (n, card) by inverse CDF (u rounded up to the total: the last open one)."""
        card = prob.shape[1]
        cum = np.cumsum(prob, axis=1)
        pick = (cum <= rng.random(len(prob))[:, None] * cum[:, -1:]).sum(axis=1)  # first j with cum_j > u
        last = card - 1 - np.argmax((prob > 0)[:, ::-1], axis=1)
        return np.where(pick >= card, last, pick)

    @abstractmethod
    def gradients(self, choices: np.ndarray, masks: list[np.ndarray] | None, weights: np.ndarray,
                  entropy: float = 0.0) -> dict[str, np.ndarray]:
        """Gradient of sum_i weights_i log p(choices_i) (+ entropy bonus) with respect to every parameter."""

    def update(self, choices: np.ndarray, masks: list[np.ndarray] | None, advantages: np.ndarray,
               entropy: float = 0.0) -> None:
        """One REINFORCE step (Adam ascent on the batch mean of ``advantage x log p``); ``masks`` None: all open."""
        n = max(len(choices), 1)
        grads = self.gradients(choices, masks, np.asarray(advantages) / n, entropy=entropy / n)
        self._t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        for k, gk in grads.items():
            self._m[k] = b1 * self._m[k] + (1 - b1) * gk
            self._v[k] = b2 * self._v[k] + (1 - b2) * gk * gk
            m_hat = self._m[k] / (1 - b1 ** self._t)
            v_hat = self._v[k] / (1 - b2 ** self._t)
            self.params[k] = self.params[k] + self.lr * m_hat / (np.sqrt(v_hat) + eps)


def _dlogits(prob: np.ndarray, chosen: np.ndarray, w: np.ndarray, entropy: float) -> np.ndarray:
    """d/dlogits of ``w_i log p(chosen_i) + entropy * H(prob_i)`` per row (n, card)."""
    dl = -w * prob
    dl[np.arange(len(prob)), chosen] += w[:, 0]
    if entropy:
        logp = np.log(np.where(prob > 0, prob, 1.0))
        ent = -(prob * logp).sum(axis=1, keepdims=True)
        dl += entropy * (-prob * (logp + ent))
    return dl


class LstmController(_Controller):
    """One LSTM layer of ``hidden`` units over ``len(cards)`` decisions, weights drawn from ``rng``.

    Args:
        cards: Choices of each decision, in the order they are emitted.
        rng: Draws the initial weights, uniform in [-``init``, ``init``] (Zoph and Le: 0.08; ENAS: 0.1).
        hidden: LSTM units (Zoph and Le: 35).
        lr: Adam step size.
    """

    def __init__(self, cards: tuple[int, ...], *, rng: np.random.Generator, hidden: int = 35, lr: float = 0.005,
                 init: float = 0.1) -> None:
        self.cards = _check(cards, lr)
        if not isinstance(hidden, int) or hidden < 1:
            raise SpecError(f"controller.hidden: must be an integer >= 1, got {hidden!r}")
        self.hidden, self.lr = hidden, float(lr)
        h = hidden

        def u(*shape: int) -> np.ndarray:
            return rng.uniform(-init, init, size=shape)

        self.params = {"start": u(h), "wx": u(h, 4 * h), "wh": u(h, 4 * h), "b": u(4 * h)}
        for k, c in enumerate(self.cards):
            self.params[f"out_w{k}"], self.params[f"out_b{k}"] = u(h, c), u(c)
            if k + 1 < len(self.cards):
                self.params[f"embed{k}"] = u(c, h)
        self._init_adam()

    # -- forward -------------------------------------------------------------------------------
    def _run(self, n: int, choices: np.ndarray | None, masks: list[np.ndarray] | None,
             rng: np.random.Generator | None, allowed: Allowed | None,
             prefix: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray], list]:
        """Step the LSTM for ``n`` sequences: follow ``choices`` (or ``prefix``, then sample with ``rng``);
        the masks used and the cache for backward."""
        p, h = self.params, self.hidden
        hs, cs = np.zeros((n, h)), np.zeros((n, h))
        if choices is not None:
            out, forced = choices, len(self.cards)
        else:
            out, forced = np.zeros((n, len(self.cards)), dtype=np.int64), 0
            if prefix is not None:
                forced = prefix.shape[1]
                out[:, :forced] = prefix
        used: list[np.ndarray] = []
        cache = []
        x = np.repeat(p["start"][None], n, axis=0)
        for k in range(len(self.cards)):
            z = x @ p["wx"] + hs @ p["wh"] + p["b"]
            i, f, o, g = _sigmoid(z[:, :h]), _sigmoid(z[:, h:2 * h]), _sigmoid(z[:, 2 * h:3 * h]), np.tanh(z[:, 3 * h:])
            c_new = f * cs + i * g
            tc = np.tanh(c_new)
            h_new = o * tc
            logits = h_new @ p[f"out_w{k}"] + p[f"out_b{k}"]
            mask = self._mask(k, n, out, masks, allowed)
            z_l = np.where(mask, logits, -np.inf)
            e = np.exp(z_l - z_l.max(axis=1, keepdims=True))
            prob = e / e.sum(axis=1, keepdims=True)
            if k >= forced:
                assert rng is not None
                out[:, k] = self._draw(prob, rng)
            used.append(mask)
            cache.append((x, hs, cs, i, f, o, g, c_new, tc, h_new, prob))
            hs, cs = h_new, c_new
            if k + 1 < len(self.cards):
                x = p[f"embed{k}"][out[:, k]]
        return out, used, cache

    def sample(self, rng: np.random.Generator, n: int, allowed: Allowed | None = None,
               prefix: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """``n`` decision sequences (n, len(cards)) drawn from the policy, and the masks they were drawn under.

        ``prefix`` (n, k): the first k decisions, given; the rest are drawn after them.
        """
        out, used, _ = self._run(n, None, None, rng, allowed, prefix)
        return out, used

    def log_probs(self, choices: np.ndarray, masks: list[np.ndarray] | None) -> np.ndarray:
        """log p(sequence) of each row of ``choices`` under ``masks`` (None: every choice open), float (n,)."""
        n = len(choices)
        _, _, cache = self._run(n, choices, masks, None, None)
        rows = np.arange(n)
        return sum(np.log(cache[k][10][rows, choices[:, k]]) for k in range(len(self.cards)))

    # -- backward ------------------------------------------------------------------------------
    def gradients(self, choices: np.ndarray, masks: list[np.ndarray] | None, weights: np.ndarray,
                  entropy: float = 0.0) -> dict[str, np.ndarray]:
        """Gradient of ``sum_i weights_i log p(choices_i) + entropy * sum_i sum_k H_k(i)`` (H: a step's entropy)."""
        p, h = self.params, self.hidden
        n = len(choices)
        _, _, cache = self._run(n, choices, masks, None, None)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        w = np.asarray(weights, dtype=np.float64)[:, None]
        dh_next, dc_next = np.zeros((n, h)), np.zeros((n, h))
        for k in reversed(range(len(self.cards))):
            x, h_prev, c_prev, i, f, o, g, _, tc, h_new, prob = cache[k]
            dlogits = _dlogits(prob, choices[:, k], w, entropy)
            grads[f"out_w{k}"] += h_new.T @ dlogits
            grads[f"out_b{k}"] += dlogits.sum(axis=0)
            dh = dlogits @ p[f"out_w{k}"].T + dh_next
            dc = dc_next + dh * o * (1.0 - tc * tc)
            dz = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dh * tc * o * (1 - o),
                                 dc * i * (1 - g * g)], axis=1)
            grads["wx"] += x.T @ dz
            grads["wh"] += h_prev.T @ dz
            grads["b"] += dz.sum(axis=0)
            dx = dz @ p["wx"].T
            dh_next, dc_next = dz @ p["wh"].T, dc * f
            if k == 0:
                grads["start"] += dx.sum(axis=0)
            else:
                np.add.at(grads[f"embed{k - 1}"], choices[:, k - 1], dx)
        return grads


class SoftmaxController(_Controller):
    """One softmax per decision, independent of the others, logits starting at 0 (uniform)."""

    def __init__(self, cards: tuple[int, ...], *, lr: float = 0.005) -> None:
        self.cards, self.lr = _check(cards, lr), float(lr)
        self.params = {f"logits{k}": np.zeros(c) for k, c in enumerate(self.cards)}
        self._init_adam()

    def _probs(self, k: int, mask: np.ndarray) -> np.ndarray:
        z = np.where(mask, self.params[f"logits{k}"][None], -np.inf)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def sample(self, rng: np.random.Generator, n: int, allowed: Allowed | None = None,
               prefix: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """As :meth:`LstmController.sample`."""
        out = np.zeros((n, len(self.cards)), dtype=np.int64)
        forced = 0 if prefix is None else prefix.shape[1]
        if prefix is not None:
            out[:, :forced] = prefix
        used = []
        for k in range(len(self.cards)):
            mask = self._mask(k, n, out, None, allowed)
            if k >= forced:
                out[:, k] = self._draw(self._probs(k, mask), rng)
            used.append(mask)
        return out, used

    def log_probs(self, choices: np.ndarray, masks: list[np.ndarray] | None) -> np.ndarray:
        n, rows = len(choices), np.arange(len(choices))
        return sum(np.log(self._probs(k, self._mask(k, n, choices, masks, None))[rows, choices[:, k]])
                   for k in range(len(self.cards)))

    def gradients(self, choices: np.ndarray, masks: list[np.ndarray] | None, weights: np.ndarray,
                  entropy: float = 0.0) -> dict[str, np.ndarray]:
        """As :meth:`LstmController.gradients`."""
        n = len(choices)
        w = np.asarray(weights, dtype=np.float64)[:, None]
        return {f"logits{k}": _dlogits(self._probs(k, self._mask(k, n, choices, masks, None)), choices[:, k], w,
                                       entropy).sum(axis=0) for k in range(len(self.cards))}
