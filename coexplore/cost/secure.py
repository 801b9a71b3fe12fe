"""Secure-inference cost: Gazelle-style packed HE for linear layers, garbled circuits for ReLU / max-pool.

Why: NASS (Bian et al., ECAI 2020; seed 000) searches architectures and per-layer bit widths
for the Gazelle protocol (Juvekar, Vaikuntanathan, Chandrakasan, USENIX Security 2018), where
the server evaluates conv / FC layers on the client's encrypted additive share with packed
additive HE (ct-pt multiplications, rotations, additions) and ReLU / max-pool run in garbled
circuits whose size grows with the bit width. Counts below are exact for the packing rules
stated; time and bytes come from per-operation constants (:class:`SecureConstants`).

Packing rules (written afresh from Gazelle's description, n = ``slots``):

* **Convolution** (stride 1, groups 1): a channel plane takes hw = max(H_in*W_in, P*Q) slots,
  c_n = floor(n / hw) channels share a ciphertext; m_i = ceil(C/c_n) input and m_o = ceil(K/c_n)
  output ciphertexts. Wrapped slots are zeroed by the plaintext weight masks (no padding slots).
  ct-pt mults = m_o*m_i*c_n*R*S (Gazelle's c_i*c_o*R*S/c_n); additions = m_o*(m_i*c_n*R*S - 1).
  Rotations, the cheaper of Gazelle's two orders: input rotations m_i*(c_n*R*S - 1) (every
  tap shift and channel diagonal of every input ciphertext), or output rotations
  m_i*(R*S - 1) + m_o*(c_n - 1) (tap shifts of the inputs, one rotation per channel diagonal
  of each output ciphertext, partial sums of a diagonal added before rotating).
* **Fully connected** (Gazelle's hybrid diagonal method): n_i' and n_o' are C and K rounded up
  to powers of two; input blocks b_i = ceil(n_i'/n) of width w = min(n_i', n), replicated n/w
  times in a ciphertext by the client; output blocks b_o = ceil(n_o'/w) of height h = min(n_o', w).
  Per block pair: d = ceil(h*w/n) ct-pt mults, d - 1 + log2(n/h) rotations and as many
  additions (the last log2(n/h) rotate-and-add fold the partial sums). Blocks of one output
  are added: b_o*(b_i - 1). For C = n, K = h this is Gazelle's n_i*n_o/n mults and
  n_i*n_o/n - 1 + log2(n/n_o) rotations.
* **Protocol per linear layer**: the client encrypts and sends its share (cts_sent = m_i or
  b_i), the server adds its own share (one ct-pt addition per input ciphertext) and a random
  mask to each result (one per output ciphertext) and returns them (cts_received = m_o or b_o).
* **Modulus per layer**: shares live mod a plaintext modulus t < 2**w (w = the stage's bits).
  BFV's scale q/t costs log t bits and a ct-pt multiplication grows the noise by about t, so
  the ciphertext modulus is taken as log q = 2*w + ``noise_bits`` (Fan & Vercauteren, ePrint
  2012/144, noise of plaintext multiplication); the default 14 gives Gazelle's 60-bit q at its
  23-bit shares. A ciphertext is 2 polynomials of n coefficients of log q bits, and every HE
  operation's time scales with log q (RNS limbs x NTT), its constant being quoted at
  ``reference_modulus_bits``.

Garbled circuits (free-XOR, Kolesnikov & Schneider 2008; half-gates, Zahur, Rosulek & Evans,
EUROCRYPT 2015: 2 ciphertexts of kappa bits per AND gate, XOR free), width w bits, the values
additively shared mod p < 2**w. A w-bit adder / subtractor / comparator is w AND gates (one
per full-adder bit, Kolesnikov, Sadeghi & Schneider, CANS 2009), a w-bit multiplexer w ANDs:

* **ReLU** per element: reconstruct x = s + c mod p (add, subtract p, select: 3w), ReLU
  (compare with p/2, zero the bits: 2w), re-share x - r mod p (subtract, add p, select: 3w):
  8w ANDs. Inputs: the garbler's share (w labels sent), the evaluator's share and mask (2w
  oblivious transfers).
* **Max-pool** k x k per output (inside the preceding ReLU's circuit, no extra inputs):
  k*k - 1 maxima of a comparator and a multiplexer: 2w*(k*k - 1) ANDs.
* OT extension (IKNP, Ishai et al., CRYPTO 2003): per OT the sender sends 2 kappa-bit
  messages and the receiver one kappa-bit column: 3*kappa/8 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from coexplore.errors import SpecError
from coexplore.spec.workload import Layer, Network

__all__ = ["GcCounts", "HeCounts", "SecureConstants", "SecureCost", "SecureLayerCost", "SecureStage",
           "conv_he_counts", "fc_he_counts", "fixed_point_width", "linear_he_counts", "maxpool_gc_counts",
           "relu_gc_counts", "scaled", "secure_network_cost", "secure_stages", "stage_counts"]

MAX_BITS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class SecureConstants:
    """HE parameters and per-operation costs.

    Defaults: n = 2048 slots and a 60-bit ciphertext modulus (the reference the HE times are
    quoted at) are Gazelle's parameters for its CIFAR-10 network; kappa = 128 is the
    half-gates security parameter. The per-operation times are *assumed* orders of magnitude
    for one desktop core (BFV n = 2048: rotation with key switching ~100 us, ct-pt mult
    ~20 us, addition ~5 us, encrypt / decrypt ~500 / 100 us; one half-gates AND garbled and
    evaluated with fixed-key AES ~0.1 us; one extended OT ~0.5 us): they could not be
    measured offline and are meant to be calibrated (``benchmarks/bench_secure.py``). Byte
    sizes follow from n, the modulus and kappa; ``byte_scale`` multiplies them all.
    """

    slots: int = 2048
    reference_modulus_bits: int = 60
    noise_bits: int = 14
    kappa: int = 128
    rotation_s: float = 100e-6
    ct_pt_mult_s: float = 20e-6
    add_s: float = 5e-6
    encrypt_s: float = 500e-6
    decrypt_s: float = 100e-6
    and_gate_s: float = 0.1e-6
    ot_s: float = 0.5e-6
    byte_scale: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        for f in ("slots", "reference_modulus_bits", "kappa"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                problems.append(f"secure_constants.{f}: must be a positive integer, got {v!r}")
        if isinstance(self.noise_bits, bool) or not isinstance(self.noise_bits, int) or self.noise_bits < 0:
            problems.append(f"secure_constants.noise_bits: must be an integer >= 0, got {self.noise_bits!r}")
        if isinstance(self.slots, int) and self.slots > 0 and self.slots & (self.slots - 1):
            problems.append(f"secure_constants.slots: must be a power of two, got {self.slots}")
        for f in ("rotation_s", "ct_pt_mult_s", "add_s", "encrypt_s", "decrypt_s", "and_gate_s", "ot_s",
                  "byte_scale"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 or math.isinf(v):
                problems.append(f"secure_constants.{f}: must be a finite number >= 0, got {v!r}")
        if problems:
            raise SpecError(problems)

    def modulus_bits(self, bits: int) -> int:
        """Ciphertext modulus bits for shares of ``bits`` bits: 2*bits + noise_bits."""
        return 2 * _check_bits(bits, "secure.bits") + self.noise_bits

    def ciphertext_bytes(self, bits: int) -> int:
        return 2 * self.slots * self.modulus_bits(bits) // 8

    @property
    def and_gate_bytes(self) -> int:
        return 2 * self.kappa // 8

    @property
    def label_bytes(self) -> int:
        return self.kappa // 8

    @property
    def ot_bytes(self) -> int:
        return 3 * self.kappa // 8


@dataclass(frozen=True, slots=True)
class HeCounts:
    """Homomorphic operations of one linear layer; ``scheme`` names the packing used."""

    rotations: int
    ct_pt_mults: int
    additions: int
    cts_sent: int
    cts_received: int
    scheme: str = ""


@dataclass(frozen=True, slots=True)
class GcCounts:
    """Garbled-circuit work: AND gates, garbler input labels sent and evaluator OTs."""

    and_gates: int = 0
    garbler_input_bits: int = 0
    ots: int = 0

    def __add__(self, other: GcCounts) -> GcCounts:
        return GcCounts(self.and_gates + other.and_gates, self.garbler_input_bits + other.garbler_input_bits,
                        self.ots + other.ots)


def _check_bits(bits: object, path: str) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_BITS:
        raise SpecError(f"{path}: must be an integer from 1 to {MAX_BITS} bits, got {bits!r}")
    return bits


def _check_count(v: object, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise SpecError(f"{path}: must be an integer >= 0, got {v!r}")
    return v


def fixed_point_width(integer: int, fraction: int) -> int:
    """GC / share width of a layer quantized to (integer, fraction) bits, as NASS writes it.

    The linear layer's result carries 2*fraction fraction bits (a product of two numbers with
    ``fraction`` fraction bits) and ``integer`` integer bits; the circuit takes it untruncated
    and truncating by ``fraction`` bits is free wiring: width = integer + 2*fraction.
    """
    for name, v in (("integer", integer), ("fraction", fraction)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise SpecError(f"fixed point {name}: must be an integer >= 0, got {v!r}")
    return _check_bits(integer + 2 * fraction, f"fixed point ({integer}, {fraction}) width")


def _ceil_pow2(x: int) -> int:
    return 1 << (x - 1).bit_length()


def _is_fc(layer: Layer) -> bool:
    return layer.op in ("fc", "matmul") or (layer.P == layer.Q == layer.R == layer.S == 1
                                            and layer.op not in ("conv", "depthwise"))


def _check_linear(layer: Layer) -> None:
    path = f"layer {layer.name!r}"
    if layer.op not in ("conv", "fc", "matmul"):
        raise SpecError(f"{path}.op: secure cost prices 'conv', 'fc' and 'matmul' layers, got {layer.op!r}")
    if layer.groups != 1:
        raise SpecError(f"{path}.groups: secure cost prices dense layers only (groups=1), got {layer.groups}")
    if layer.stride != (1, 1) or layer.dilation != (1, 1):
        raise SpecError(f"{path}.stride/dilation: secure cost prices stride 1, dilation 1 only, got "
                        f"stride={layer.stride}, dilation={layer.dilation}")
    if layer.N != 1:
        raise SpecError(f"{path}.N: secure inference prices one image (N=1), got {layer.N}")


def conv_he_counts(layer: Layer, constants: SecureConstants = SecureConstants()) -> HeCounts:
    """Exact HE operations of a stride-1 convolution (packing rule in the module docstring)."""
    _check_linear(layer)
    n = constants.slots
    h_in, w_in = layer.input_hw
    hw = max(h_in * w_in, layer.P * layer.Q)
    if hw > n:
        raise SpecError(f"layer {layer.name!r}: a channel plane of {hw} slots exceeds slots={n}; planes split "
                        f"over ciphertexts are not priced")
    c_n = n // hw
    m_i, m_o = -(-layer.C // c_n), -(-layer.K // c_n)
    taps = layer.R * layer.S
    ir = m_i * (c_n * taps - 1)
    orot = m_i * (taps - 1) + m_o * (c_n - 1)
    rotations, scheme = (orot, "output-rotation") if orot <= ir else (ir, "input-rotation")
    mults = m_o * m_i * c_n * taps
    adds = m_o * (m_i * c_n * taps - 1) + m_i + m_o
    return HeCounts(rotations, mults, adds, m_i, m_o, f"conv {scheme}, c_n={c_n}")


def fc_he_counts(layer: Layer, constants: SecureConstants = SecureConstants()) -> HeCounts:
    """Exact HE operations of a fully connected layer (Gazelle's hybrid method, blocked)."""
    _check_linear(layer)
    if layer.P * layer.Q * layer.R * layer.S != 1:
        raise SpecError(f"layer {layer.name!r}: an FC layer must have P=Q=R=S=1, got "
                        f"P={layer.P}, Q={layer.Q}, R={layer.R}, S={layer.S}")
    n = constants.slots
    ni, no = _ceil_pow2(layer.C), _ceil_pow2(layer.K)
    w = min(ni, n)
    b_i = -(-ni // n)
    h = min(no, w)
    b_o = -(-no // w)
    d = -(-(h * w) // n)
    fold = (n // h).bit_length() - 1
    per_pair = d - 1 + fold
    rotations = b_i * b_o * per_pair
    adds = b_i * b_o * per_pair + b_o * (b_i - 1) + b_i + b_o
    return HeCounts(rotations, b_i * b_o * d, adds, b_i, b_o, f"fc hybrid, {d} diagonals/block")


def linear_he_counts(layer: Layer, constants: SecureConstants = SecureConstants()) -> HeCounts:
    """HE counts of a conv or FC layer, by its shape and op."""
    if layer.op not in ("conv", "fc", "matmul"):
        _check_linear(layer)  # raises, naming the op
    return fc_he_counts(layer, constants) if _is_fc(layer) else conv_he_counts(layer, constants)


def relu_gc_counts(elements: int, bits: int) -> GcCounts:
    """ReLU of ``elements`` additively shared ``bits``-bit values: 8*bits ANDs, bits labels, 2*bits OTs each."""
    e = _check_count(elements, "relu.elements")
    w = _check_bits(bits, "relu.bits")
    return GcCounts(8 * w * e, w * e, 2 * w * e)


def maxpool_gc_counts(outputs: int, window: int, bits: int) -> GcCounts:
    """k x k max-pool fused into the ReLU circuit: (k*k - 1) comparator+mux of 2*bits ANDs per output."""
    o = _check_count(outputs, "maxpool.outputs")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise SpecError(f"maxpool.window: must be an integer >= 1, got {window!r}")
    w = _check_bits(bits, "maxpool.bits")
    return GcCounts(2 * w * (window * window - 1) * o)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecureStage:
    """A linear layer, then (optionally) a ReLU and a k x k max-pool, with their bit widths."""

    layer: Layer
    bits: int
    relu: bool = True
    pool: int = 1
    pool_bits: int | None = None

    def __post_init__(self) -> None:
        _check_bits(self.bits, f"stage {self.layer.name!r}.bits")
        if self.pool_bits is not None:
            _check_bits(self.pool_bits, f"stage {self.layer.name!r}.pool_bits")
        if isinstance(self.pool, bool) or not isinstance(self.pool, int) or self.pool < 1:
            raise SpecError(f"stage {self.layer.name!r}.pool: must be an integer >= 1, got {self.pool!r}")
        if self.pool > 1 and (self.layer.P % self.pool or self.layer.Q % self.pool):
            raise SpecError(f"stage {self.layer.name!r}.pool: must divide the output {self.layer.P}x"
                            f"{self.layer.Q}, got {self.pool}")


@dataclass(frozen=True, slots=True)
class SecureLayerCost:
    name: str
    he: HeCounts
    gc: GcCounts
    he_time_s: float
    gc_time_s: float
    he_bytes: float
    gc_bytes: float


@dataclass(frozen=True, slots=True)
class SecureCost:
    """Per-layer and total cost of one secure inference."""

    layers: tuple[SecureLayerCost, ...] = field(default_factory=tuple)

    @property
    def he_time_s(self) -> float:
        return sum(x.he_time_s for x in self.layers)

    @property
    def gc_time_s(self) -> float:
        return sum(x.gc_time_s for x in self.layers)

    @property
    def time_s(self) -> float:
        return self.he_time_s + self.gc_time_s

    @property
    def bytes(self) -> float:
        return sum(x.he_bytes + x.gc_bytes for x in self.layers)


def secure_stages(network: Network, bits: Mapping[str, int] | Sequence[int], *,
                  pools: Mapping[str, int] | None = None, pool_bits: Mapping[str, int] | None = None,
                  relu_last: bool = False) -> tuple[SecureStage, ...]:
    """Stages of a network: every layer but the last followed by a ReLU (the last too if
    ``relu_last``), ``pools`` maps layer names to a pool window after them. ``bits`` gives
    one width per layer, by name or in order."""
    names = [x.name for x in network.layers]
    if isinstance(bits, Mapping):
        missing = [n for n in names if n not in bits]
        extra = [n for n in bits if n not in names]
        if missing or extra:
            raise SpecError(f"secure bits: must name every layer of {network.name!r} exactly, got missing "
                            f"{missing}, unknown {extra}")
        widths = [bits[n] for n in names]
    else:
        widths = list(bits)
        if len(widths) != len(names):
            raise SpecError(f"secure bits: must give one width per layer ({len(names)}), got {len(widths)}")
    for mapping, what in ((pools or {}, "pools"), (pool_bits or {}, "pool_bits")):
        unknown = [n for n in mapping if n not in names]
        if unknown:
            raise SpecError(f"secure {what}: unknown layer names {unknown}; layers: {', '.join(names)}")
    out = []
    for i, (layer, w) in enumerate(zip(network.layers, widths, strict=True)):
        out.append(SecureStage(layer=layer, bits=w, relu=relu_last or i < len(names) - 1,
                               pool=(pools or {}).get(layer.name, 1),
                               pool_bits=(pool_bits or {}).get(layer.name)))
    return tuple(out)


def stage_counts(stage: SecureStage, constants: SecureConstants = SecureConstants()) -> tuple[HeCounts, GcCounts]:
    """HE counts of the stage's linear layer and GC counts of its ReLU and pool."""
    he = linear_he_counts(stage.layer, constants)
    layer = stage.layer
    gc = GcCounts()
    if stage.relu:
        gc = relu_gc_counts(layer.K * layer.P * layer.Q, stage.bits)
    if stage.pool > 1:
        outs = layer.K * (layer.P // stage.pool) * (layer.Q // stage.pool)
        gc = gc + maxpool_gc_counts(outs, stage.pool, stage.pool_bits or stage.bits)
    return he, gc


def secure_network_cost(stages: Sequence[SecureStage], constants: SecureConstants = SecureConstants()) -> SecureCost:
    """Time and bytes of a secure inference, layer by layer, from the per-operation constants."""
    if not stages:
        raise SpecError("secure stages: must not be empty, got 0 stages")
    c = constants
    out = []
    for st in stages:
        he, gc = stage_counts(st, c)
        q = c.modulus_bits(st.bits) / c.reference_modulus_bits
        he_t = q * (he.rotations * c.rotation_s + he.ct_pt_mults * c.ct_pt_mult_s + he.additions * c.add_s
                + he.cts_sent * c.encrypt_s + he.cts_received * c.decrypt_s)
        gc_t = gc.and_gates * c.and_gate_s + gc.ots * c.ot_s
        he_b = (he.cts_sent + he.cts_received) * c.ciphertext_bytes(st.bits) * c.byte_scale
        gc_b = (gc.and_gates * c.and_gate_bytes + gc.garbler_input_bits * c.label_bytes
                + gc.ots * c.ot_bytes) * c.byte_scale
        out.append(SecureLayerCost(st.layer.name, he, gc, he_t, gc_t, he_b, gc_b))
    return SecureCost(tuple(out))


def scaled(constants: SecureConstants, *, he_time: float = 1.0, gc_time: float = 1.0,
           bytes_: float = 1.0) -> SecureConstants:
    """Constants with the HE times, the GC times and the byte sizes multiplied by one factor each."""
    c = constants
    return replace(c, rotation_s=c.rotation_s * he_time, ct_pt_mult_s=c.ct_pt_mult_s * he_time,
                   add_s=c.add_s * he_time, encrypt_s=c.encrypt_s * he_time, decrypt_s=c.decrypt_s * he_time,
                   and_gate_s=c.and_gate_s * gc_time, ot_s=c.ot_s * gc_time, byte_scale=c.byte_scale * bytes_)
