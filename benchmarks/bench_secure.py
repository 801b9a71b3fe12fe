"""Secure-inference cost model calibrated on Gazelle's column of the NASS seed table (issue 19, item 1).

    python benchmarks/bench_secure.py [--json] [--measure]

The seed (000, "NASS: Framework and Results"; Bian et al., ECAI 2020) lists two CIFAR-10
networks with per-layer quantization and their Gazelle-protocol costs:

* Gazelle's: CR(64x3x3) x2, PL(2x2), CR(64x3x3) x2, PL(2x2), CR(64x3x3) x2, FC(1024x10), all
  at 23 bits: 1.815 GB, HE 3.2 s, GC 13.2 s.
* NASS's: CR(24x5x3) (8,8), CR(48x3x5) (6,7), PL (8,8), CR(48x5x7) (7,6), CR(36x3x3) (6,5),
  PL (8,8), CR(24x7x1) (4,6), FC(1024x10) (16,16): 977 MB, HE 1.62 s, GC 6.38 s.

Reading of the table (stated, not in the seed): CR(K x R x S) is a stride-1 "same"
convolution to K channels with an R x S filter, then ReLU; inputs 32x32x3, each PL halves
the plane; FC's input is 1024 as written (the flattened maps are 4096 and 1536: the seed's
figure is kept, its HE cost is 14 rotations either way). Gazelle's 23 is the share width;
NASS's (integer, fraction) pairs become widths by :func:`fixed_point_width` (i + 2f for a
layer's un-truncated product, i + f for a pool, which sees truncated activations).

Calibration uses the Gazelle column only: one factor each for the HE times, the GC times
and the byte sizes, so that the cited/assumed defaults reproduce Gazelle's three figures.
NASS's network is then predicted with those constants. Two sensitivity rows show what the
prediction would be under other readings (NASS widths i + f; HE modulus fixed at 60 bits).

``--measure`` (extra ``secure``) also times SEAL's BFV operations on this machine
(:mod:`coexplore.cost.secure_measure`) and prices both networks with those HE constants,
uncalibrated: this machine is not the paper's, so the ratio to the seed's HE times says how far
a machine of today is from Gazelle's 2018 testbed, and the NASS / Gazelle ratio is the model's own.
"""

from __future__ import annotations

import argparse
import json

from coexplore.cost.secure import SecureConstants, fixed_point_width, scaled, secure_network_cost, secure_stages
from coexplore.spec.workload import Layer, Network

SEED = {"gazelle": {"bytes": 1.815e9, "he_s": 3.2, "gc_s": 13.2},
        "nass": {"bytes": 977e6, "he_s": 1.62, "gc_s": 6.38}}
# (name, K, C, plane, R, S); pools after c2 and c4
GAZELLE = [("c1", 64, 3, 32, 3, 3), ("c2", 64, 64, 32, 3, 3), ("c3", 64, 64, 16, 3, 3), ("c4", 64, 64, 16, 3, 3),
           ("c5", 64, 64, 8, 3, 3), ("c6", 64, 64, 8, 3, 3)]
NASS = [("c1", 24, 3, 32, 5, 3), ("c2", 48, 24, 32, 3, 5), ("c3", 48, 48, 16, 5, 7), ("c4", 36, 48, 16, 3, 3),
        ("c5", 24, 36, 8, 7, 1)]
NASS_BITS = [(8, 8), (6, 7), (7, 6), (6, 5), (4, 6), (16, 16)]
NASS_POOL_BITS = (8, 8)
POOLS = {"c2": 2, "c4": 2}


def network(name: str, convs: list[tuple[str, int, int, int, int, int]]) -> Network:
    layers = [Layer(name=n, K=k, C=c, P=hw, Q=hw, R=r, S=s, padding=((r - 1) // 2, (s - 1) // 2))
              for n, k, c, hw, r, s in convs]
    return Network(name=name, layers=(*layers, Layer(name="fc", K=10, C=1024, op="fc")))


def gazelle_stages():
    return secure_stages(network("gazelle", GAZELLE), [23] * 7, pools=POOLS)


def nass_stages(width=fixed_point_width):
    pool_w = NASS_POOL_BITS[0] + NASS_POOL_BITS[1]
    return secure_stages(network("nass", NASS), [width(i, f) for i, f in NASS_BITS], pools=POOLS,
                         pool_bits=dict.fromkeys(POOLS, pool_w))


def figures(cost) -> dict[str, float]:
    return {"bytes": cost.bytes, "he_s": cost.he_time_s, "gc_s": cost.gc_time_s}


def fixed_modulus_he(stages, constants: SecureConstants) -> float:
    """HE time if every layer used the reference modulus (no dependence on bits)."""
    cost = secure_network_cost(stages, constants)
    return sum(x.he_time_s * constants.reference_modulus_bits / constants.modulus_bits(st.bits)
               for x, st in zip(cost.layers, stages, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    ap.add_argument("--measure", action="store_true", help="also price with HE constants measured here (TenSEAL)")
    ap.add_argument("--repeats", type=int, default=200, help="timed runs per HE operation with --measure (200)")
    args = ap.parse_args()
    default = SecureConstants()
    g0 = figures(secure_network_cost(gazelle_stages(), default))
    factors = {k: SEED["gazelle"][k] / g0[k] for k in g0}
    cal = scaled(default, he_time=factors["he_s"], gc_time=factors["gc_s"], bytes_=factors["bytes"])
    g1 = figures(secure_network_cost(gazelle_stages(), cal))
    n1 = figures(secure_network_cost(nass_stages(), cal))
    n_if = figures(secure_network_cost(nass_stages(lambda i, f: i + f), cal))
    he_fixed = (fixed_modulus_he(nass_stages(), cal)
                / fixed_modulus_he(gazelle_stages(), cal) * SEED["gazelle"]["he_s"])
    out = {
        "default_gazelle": g0, "factors": factors,
        "calibrated_constants": {f: getattr(cal, f) for f in ("rotation_s", "ct_pt_mult_s", "add_s", "encrypt_s",
                                                              "decrypt_s", "and_gate_s", "ot_s", "byte_scale")},
        "gazelle_fit": g1, "nass_predicted": n1, "nass_seed": SEED["nass"],
        "ratio": {k: n1[k] / SEED["nass"][k] for k in n1},
        "sensitivity": {"nass_widths_i_plus_f": {k: n_if[k] / SEED["nass"][k] for k in n_if},
                        "he_fixed_modulus_ratio": he_fixed / SEED["nass"]["he_s"]},
        "counts": {name: [(x.name, x.he.rotations, x.he.ct_pt_mults, x.he.additions, x.he.cts_sent,
                           x.he.cts_received, x.gc.and_gates, x.gc.ots)
                          for x in secure_network_cost(st(), cal).layers]
                   for name, st in (("gazelle", gazelle_stages), ("nass", nass_stages))},
    }
    if args.measure:
        from coexplore.cost.secure_measure import measure_he_constants

        m = measure_he_constants(repeats=args.repeats, base=default)
        g_m = figures(secure_network_cost(gazelle_stages(), m.constants))
        n_m = figures(secure_network_cost(nass_stages(), m.constants))
        out["measured"] = {"constants": {f: getattr(m.constants, f) for f in ("rotation_s", "ct_pt_mult_s", "add_s",
                                                                              "encrypt_s", "decrypt_s")},
                           "assumed": {f: getattr(default, f) for f in ("rotation_s", "ct_pt_mult_s", "add_s",
                                                                        "encrypt_s", "decrypt_s")},
                           "ciphertext_bytes": m.ciphertext_bytes, "model_ciphertext_bytes": m.model_ciphertext_bytes,
                           "gazelle_he_s": g_m["he_s"], "nass_he_s": n_m["he_s"],
                           "nass_over_gazelle_he": n_m["he_s"] / g_m["he_s"],
                           "seed_nass_over_gazelle_he": SEED["nass"]["he_s"] / SEED["gazelle"]["he_s"]}
    if args.json:
        print(json.dumps(out))
        return
    print(f"default constants on Gazelle: HE {g0['he_s']:.3f} s, GC {g0['gc_s']:.3f} s, {g0['bytes'] / 1e6:.1f} MB")
    print(f"factors fitted on Gazelle: HE time x{factors['he_s']:.3f}, GC time x{factors['gc_s']:.3f}, "
          f"bytes x{factors['bytes']:.3f}")
    print("calibrated constants: " + ", ".join(f"{k}={v:.4g}" for k, v in out["calibrated_constants"].items()))
    for name in ("gazelle", "nass"):
        print(f"\n{name}: layer | rot | ct-pt mult | add | ct sent | ct recv | AND gates | OTs")
        for row in out["counts"][name]:
            print("  " + " | ".join(str(v) for v in row))
    print("\n| figure | NASS predicted | seed | predicted / seed |")
    print("|---|---|---|---|")
    for k, label, unit, div in (("he_s", "HE time", "s", 1), ("gc_s", "GC time", "s", 1),
                                ("bytes", "bandwidth", "MB", 1e6)):
        print(f"| {label} | {n1[k] / div:.3f} {unit} | {SEED['nass'][k] / div:.3f} {unit} | {out['ratio'][k]:.3f} |")
    t = n1["he_s"] + n1["gc_s"]
    print(f"| total time | {t:.3f} s | 8.000 s | {t / 8.0:.3f} |")
    if "measured" in out:
        me = out["measured"]
        print("\nHE constants measured here (SEAL BFV n=2048, 60-bit data modulus; us, measured / assumed): "
              + ", ".join(f"{k} {v * 1e6:.1f} / {me['assumed'][k] * 1e6:.1f}" for k, v in me["constants"].items()))
        print(f"ciphertext {me['ciphertext_bytes']:,} B serialized, model {me['model_ciphertext_bytes']:,} B")
        print(f"with them, uncalibrated: Gazelle HE {me['gazelle_he_s']:.3f} s (seed 3.2 s), NASS HE "
              f"{me['nass_he_s']:.3f} s (seed 1.62 s); NASS / Gazelle {me['nass_over_gazelle_he']:.3f} "
              f"(seed {me['seed_nass_over_gazelle_he']:.3f})")
    s = out["sensitivity"]
    w = s["nass_widths_i_plus_f"]
    print(f"\nsensitivity (predicted / seed): NASS widths i+f: HE {w['he_s']:.3f}, GC {w['gc_s']:.3f}, "
          f"bytes {w['bytes']:.3f}; HE with a fixed 60-bit modulus: {s['he_fixed_modulus_ratio']:.3f}")


if __name__ == "__main__":
    main()
