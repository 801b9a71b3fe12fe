"""Integer factorization helpers for map-space enumeration and sampling.

Every tiling of a loop bound is an ordered factorization of it, so mappers ask the
same small questions (divisors of 56, all 4-way splits of 128, ...) millions of times.
The answers are cached immutable tuples.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["divisors", "factorizations", "n_factorizations", "prime_factorization"]


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: must be a positive integer, got {value!r}")


@lru_cache(maxsize=4096)
def prime_factorization(n: int) -> tuple[tuple[int, int], ...]:
    """Primes of ``n`` with their exponents, ascending: ``12 -> ((2, 2), (3, 1))``; ``1 -> ()``."""
    _check_positive("n", n)
    out: list[tuple[int, int]] = []
    p = 2
    while p * p <= n:
        if n % p == 0:
            e = 0
            while n % p == 0:
                n //= p
                e += 1
            out.append((p, e))
        p += 1 if p == 2 else 2
    if n > 1:
        out.append((n, 1))
    return tuple(out)


@lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    """All positive divisors of ``n``, ascending."""
    _check_positive("n", n)
    divs = [1]
    for p, e in prime_factorization(n):
        divs = [d * p**k for d in divs for k in range(e + 1)]
    return tuple(sorted(divs))


@lru_cache(maxsize=16384)
def factorizations(n: int, k: int) -> tuple[tuple[int, ...], ...]:
    """All ordered ``k``-tuples of positive integers whose product is ``n``.

    Ordered lexicographically; ``factorizations(n, 1) == ((n,),)`` and
    ``factorizations(n, 0)`` is ``((),)`` for ``n == 1`` and empty otherwise.
    """
    _check_positive("n", n)
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k: must be an integer >= 0, got {k!r}")
    if k == 0:
        return ((),) if n == 1 else ()
    if k == 1:
        return ((n,),)
    return tuple((d, *rest) for d in divisors(n) for rest in factorizations(n // d, k - 1))


@lru_cache(maxsize=16384)
def n_factorizations(n: int, k: int) -> int:
    """``len(factorizations(n, k))`` without building them: the product of C(e + k - 1, k - 1)."""
    _check_positive("n", n)
    if k == 0:
        return 1 if n == 1 else 0
    count = 1
    for _, e in prime_factorization(n):
        num = 1
        for i in range(1, k):  # C(e + k - 1, k - 1)
            num = num * (e + i) // i
        count *= num
    return count
