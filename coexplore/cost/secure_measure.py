"""Measure the HE constants of the secure-inference model on this machine, with Microsoft SEAL via TenSEAL.

Why: :class:`~coexplore.cost.secure.SecureConstants` ships assumed per-operation times (and a
calibration against Gazelle's published column); a user who deploys on their own server wants the
times of their machine. TenSEAL (optional extra ``secure``, Apache-2.0) bundles SEAL and exposes
its low-level API (``tenseal.sealapi``), so the operations Gazelle's protocol counts are timed
directly: BFV with batching at ``slots`` = poly modulus degree, plaintext modulus a batching prime
of ``plain_bits`` bits.

What is timed, one operation per sample, median of ``repeats`` samples after ``warmup``:

* ``rotation_s``: ``rotate_rows`` by one slot, with key switching (Galois keys);
* ``ct_pt_mult_s``: ``multiply_plain`` with ciphertext and plaintext in NTT form, as Gazelle keeps
  its weights (pre-transformed once; the NTT of the plaintext is not timed);
* ``add_s``: ciphertext + ciphertext; ``encrypt_s`` (public key) and ``decrypt_s``.

Departures, stated with every figure: SEAL key switching needs a special prime beside the data
modulus, so the coefficient modulus is the data primes (``modulus_bits`` in primes of at most 60
bits) plus one special prime of the largest data prime's size; Gazelle uses a single 60-bit modulus
and its own digit-decomposition key switching. Security is not enforced (``SEC_LEVEL_TYPE.NONE``):
n = 2048 with 120 bits of modulus is below the HE standard's 128-bit table, as Gazelle's parameters
are. The garbled-circuit constants (``and_gate_s``, ``ot_s``) are not measured here: they keep the
values of the constants passed in, and :class:`HeMeasurement` says so.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from coexplore.cost.secure import SecureConstants
from coexplore.errors import SpecError
from coexplore.optional import require

__all__ = ["MEASURED_FIELDS", "HeMeasurement", "check_measure_parameters", "measure_he_constants"]

MEASURED_FIELDS = ("rotation_s", "ct_pt_mult_s", "add_s", "encrypt_s", "decrypt_s")
MAX_PRIME_BITS = 60


@dataclass(frozen=True, slots=True)
class HeMeasurement:
    """Measured HE operation times and the constants that carry them.

    Attributes:
        constants: ``base`` with the five HE times replaced by the medians measured here (and
            ``reference_modulus_bits`` set to the measured data modulus).
        samples: Per operation, every timed sample in seconds.
        ciphertext_bytes: Size of one fresh ciphertext as SEAL serializes it (its default compression:
            the coefficients are below a 60-bit modulus, stored in 64-bit words).
        model_ciphertext_bytes: The same size by the model's formula (2 n log q / 8), for comparison.
        coeff_modulus_bits: Bit sizes of the coefficient modulus primes (data primes, then the special one).
        not_measured: Fields of ``constants`` left at ``base``'s values.
        machine: Where it was measured (processor, Python, TenSEAL version, threads).
    """

    constants: SecureConstants
    samples: dict[str, tuple[float, ...]]
    ciphertext_bytes: int
    model_ciphertext_bytes: int
    coeff_modulus_bits: tuple[int, ...]
    plain_modulus_bits: int
    not_measured: tuple[str, ...]
    machine: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: the measured medians with their spread, the sizes and the departures."""
        ops = {}
        for name, xs in self.samples.items():
            q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
            ops[name] = {"median_s": statistics.median(xs), "q1_s": q[0], "q3_s": q[2], "samples": len(xs)}
        return {"operations": ops, "ciphertext_bytes": self.ciphertext_bytes,
                "model_ciphertext_bytes": self.model_ciphertext_bytes,
                "coeff_modulus_bits": list(self.coeff_modulus_bits), "plain_modulus_bits": self.plain_modulus_bits,
                "not_measured": list(self.not_measured), "machine": dict(self.machine),
                "departures": ["SEAL key switching adds a special prime to the coefficient modulus "
                               "(Gazelle: one 60-bit modulus, digit decomposition)",
                               "security level not enforced (Gazelle's n=2048 parameters are below the HE "
                               "standard's 128-bit table)",
                               "garbled-circuit constants not measured: kept from the base constants"]}


def _data_primes(modulus_bits: int) -> list[int]:
    """Split ``modulus_bits`` into the fewest primes of at most 60 bits, as even as possible."""
    k = -(-modulus_bits // MAX_PRIME_BITS)
    base, extra = divmod(modulus_bits, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def _check(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        rule = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
        raise SpecError(f"secure measure {name}: must be {rule}, got {value!r}")
    return value


def _timed(op: Callable[[], object], repeats: int, warmup: int) -> tuple[float, ...]:
    for _ in range(warmup):
        op()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        op()
        out.append((time.perf_counter_ns() - t0) * 1e-9)
    return tuple(out)


def check_measure_parameters(*, slots: int, modulus_bits: int, plain_bits: int, repeats: int, warmup: int) -> None:
    """SpecError naming the first parameter SEAL could not take (before any key is generated)."""
    _check("slots", slots, 1024, 32768)
    if slots & (slots - 1):
        raise SpecError(f"secure measure slots: must be a power of two, got {slots}")
    _check("modulus_bits", modulus_bits, 30, 8 * MAX_PRIME_BITS)
    _check("plain_bits", plain_bits, 14, 30)
    _check("repeats", repeats, 2)
    _check("warmup", warmup, 0)


def measure_he_constants(*, slots: int = 2048, modulus_bits: int = 60, plain_bits: int = 20, repeats: int = 200,
                         warmup: int = 20, base: SecureConstants | None = None) -> HeMeasurement:
    """Time SEAL's BFV operations at ``slots`` and a ``modulus_bits`` data modulus; see the module docstring."""
    check_measure_parameters(slots=slots, modulus_bits=modulus_bits, plain_bits=plain_bits, repeats=repeats,
                             warmup=warmup)
    ts = require("tenseal", extra="secure", who="coexplore secure measure")
    seal = require("tenseal.sealapi", extra="secure", who="coexplore secure measure")
    primes = _data_primes(modulus_bits)
    coeff_bits = [*primes, max(primes)]
    parms = seal.EncryptionParameters(seal.SCHEME_TYPE.BFV)
    parms.set_poly_modulus_degree(slots)
    try:
        parms.set_coeff_modulus(seal.CoeffModulus.Create(slots, coeff_bits))
        parms.set_plain_modulus(seal.PlainModulus.Batching(slots, plain_bits))
    except RuntimeError as e:  # SEAL finds no prime of that size congruent to 1 mod 2n
        raise SpecError(f"secure measure: SEAL refuses slots={slots}, modulus primes {coeff_bits}, "
                        f"plain_bits={plain_bits}: {e}") from None
    ctx = seal.SEALContext(parms, True, seal.SEC_LEVEL_TYPE.NONE)
    if not ctx.parameters_set():
        raise SpecError(f"secure measure: SEAL refuses slots={slots}, modulus primes {coeff_bits}, "
                        f"plain_bits={plain_bits}: {ctx.parameters_error_message()}")
    keys = seal.KeyGenerator(ctx)
    public = seal.PublicKey()
    keys.create_public_key(public)
    galois = seal.GaloisKeys()
    keys.create_galois_keys(galois)
    encryptor, decryptor = seal.Encryptor(ctx, public), seal.Decryptor(ctx, keys.secret_key())
    evaluator, encoder = seal.Evaluator(ctx), seal.BatchEncoder(ctx)
    t = parms.plain_modulus().value()
    plain = seal.Plaintext()
    encoder.encode([(7 * i + 3) % t for i in range(slots)], plain)
    ct, out, decoded = seal.Ciphertext(), seal.Ciphertext(), seal.Plaintext()
    encryptor.encrypt(plain, ct)

    samples = {
        "rotation_s": _timed(lambda: evaluator.rotate_rows(ct, 1, galois, out), repeats, warmup),
        "add_s": _timed(lambda: evaluator.add(ct, ct, out), repeats, warmup),
        "encrypt_s": _timed(lambda: encryptor.encrypt(plain, out), repeats, warmup),
        "decrypt_s": _timed(lambda: decryptor.decrypt(ct, decoded), repeats, warmup),
    }
    ct_ntt, plain_ntt = seal.Ciphertext(), seal.Plaintext()
    encryptor.encrypt(plain, ct_ntt)
    encoder.encode([(7 * i + 3) % t for i in range(slots)], plain_ntt)
    evaluator.transform_to_ntt_inplace(ct_ntt)
    evaluator.transform_to_ntt_inplace(plain_ntt, ct_ntt.parms_id())
    samples["ct_pt_mult_s"] = _timed(lambda: evaluator.multiply_plain(ct_ntt, plain_ntt, out), repeats, warmup)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ct.bin")
        ct.save(path)
        size = os.path.getsize(path)

    start = base if base is not None else SecureConstants()
    medians = {k: statistics.median(v) for k, v in samples.items()}
    constants = replace(start, slots=slots, reference_modulus_bits=modulus_bits, rotation_s=medians["rotation_s"],
                        ct_pt_mult_s=medians["ct_pt_mult_s"], add_s=medians["add_s"], encrypt_s=medians["encrypt_s"],
                        decrypt_s=medians["decrypt_s"])
    not_measured = ("and_gate_s", "ot_s")
    machine = {"processor": platform.processor() or platform.machine(), "python": platform.python_version(),
               "tenseal": getattr(ts, "__version__", "unknown"), "threads": "1 (SEAL evaluates on the calling thread)"}
    model_bytes = 2 * slots * modulus_bits // 8
    return HeMeasurement(constants, samples, size, model_bytes, tuple(coeff_bits), plain_bits, not_measured, machine)
