"""``coexplore secure``: price a network under Gazelle-style secure inference, and measure its HE constants."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from coexplore.cli import format as fmt
from coexplore.cli.args import count, non_empty, non_negative_count
from coexplore.errors import SpecError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("secure", help="secure inference (Gazelle: packed HE for linear layers, garbled circuits "
                                      "for ReLU / max-pool): price a network, measure HE constants")
    ssub = p.add_subparsers(dest="secure_command", metavar="SUBCOMMAND", required=True)

    c = ssub.add_parser("price", help="HE operation counts, GC gates, time and bytes of a network, per layer")
    c.add_argument("--network", required=True, type=non_empty,
                   help="a network preset, YAML or ONNX file, chain-digits:k3c9-k5c18 (stride-1 dense convs, FCs)")
    c.add_argument("--bits", required=True, type=non_empty,
                   help="share width in bits: one for every layer (23), or LAYER=BITS for each layer (c1=16,fc=20)")
    c.add_argument("--pool", default="", help="max-pool windows after layers: LAYER=K,... (c2=2,c4=2)")
    c.add_argument("--relu-last", action="store_true", help="the last layer is followed by a ReLU too")
    c.add_argument("--constants", default=None,
                   help="JSON of per-operation constants (e.g. from `coexplore secure measure --out`); "
                        "default: the assumed constants in coexplore.cost.secure")
    c.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    c.set_defaults(func=cmd_secure_price)

    m = ssub.add_parser("measure", help="time SEAL's BFV operations on this machine (extra `secure`: TenSEAL)")
    m.add_argument("--slots", type=count, default=2048, help="polynomial degree n = slots (2048, Gazelle's)")
    m.add_argument("--modulus-bits", type=count, default=60, help="data ciphertext modulus bits (60, Gazelle's)")
    m.add_argument("--plain-bits", type=count, default=20, help="plaintext modulus bits, a batching prime (20)")
    m.add_argument("--repeats", type=count, default=200, help="timed runs per operation (200)")
    m.add_argument("--warmup", type=non_negative_count, default=20, help="untimed runs first (20)")
    m.add_argument("--out", default=None, help="write the measured constants as JSON (for `secure price --constants`)")
    m.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    m.set_defaults(func=cmd_secure_measure)


def _pairs(text: str, option: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SpecError(f"{option}: expected LAYER=INTEGER, got {item!r}")
        try:
            out[name] = int(value)
        except ValueError:
            raise SpecError(f"{option} {name}: must be an integer, got {value!r}") from None
    return out


def _bits(text: str, names: list[str]) -> list[int] | dict[str, int]:
    if "=" not in text:
        try:
            return [int(text)] * len(names)
        except ValueError:
            raise SpecError(f"--bits: must be an integer or LAYER=BITS pairs, got {text!r}") from None
    return _pairs(text, "--bits")


def load_constants(path: str) -> Any:
    """Constants from a JSON object of :class:`SecureConstants` fields (or a `secure measure --out` file)."""
    from coexplore.cost.secure import SecureConstants

    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise SpecError(f"--constants: cannot read {path!r}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"--constants {path!r}: not a UTF-8 text file") from None
    except json.JSONDecodeError as e:
        raise SpecError(f"--constants {path!r}: not JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("constants"), dict):
        data = data["constants"]
    if not isinstance(data, dict):
        raise SpecError(f"--constants {path!r}: must hold a JSON object of constants, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(SecureConstants)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"--constants {path!r}: unknown fields {unknown}; known: {', '.join(sorted(known))}")
    return SecureConstants(**data)


def cmd_secure_price(args: argparse.Namespace) -> Any:
    from coexplore.cost.secure import SecureConstants, secure_network_cost, secure_stages
    from coexplore.resolve import resolve_network

    constants = load_constants(args.constants) if args.constants else SecureConstants()
    network = resolve_network(args.network)
    names = [x.name for x in network.layers]
    pools = _pairs(args.pool, "--pool")
    stages = secure_stages(network, _bits(args.bits, names), pools=pools, relu_last=args.relu_last)
    cost = secure_network_cost(stages, constants)
    layers: list[dict[str, Any]] = [
        {"name": x.name, "bits": st.bits, "he": dataclasses.asdict(x.he), "gc": dataclasses.asdict(x.gc),
         "he_time_s": x.he_time_s, "gc_time_s": x.gc_time_s, "he_bytes": x.he_bytes, "gc_bytes": x.gc_bytes}
        for x, st in zip(cost.layers, stages, strict=True)]
    out = {"network": network.name, "constants": dataclasses.asdict(constants),
           "constants_source": args.constants or "assumed defaults (coexplore.cost.secure.SecureConstants)",
           "he_time_s": cost.he_time_s, "gc_time_s": cost.gc_time_s, "time_s": cost.time_s, "bytes": cost.bytes,
           "layers": layers}
    if not args.json:
        fmt.table(["layer", "bits", "rotations", "ct-pt mults", "AND gates", "HE s", "GC s", "MB"],
                  [[x["name"], x["bits"], f"{x['he']['rotations']:,}", f"{x['he']['ct_pt_mults']:,}",
                    f"{x['gc']['and_gates']:,}", f"{x['he_time_s']:.4g}", f"{x['gc_time_s']:.4g}",
                    f"{(x['he_bytes'] + x['gc_bytes']) / 1e6:.4g}"] for x in layers])
        print(f"\n{network.name}: HE {cost.he_time_s:.4g} s, GC {cost.gc_time_s:.4g} s, total {cost.time_s:.4g} s, "
              f"{cost.bytes / 1e6:.4g} MB ({out['constants_source']})")
    return out


def cmd_secure_measure(args: argparse.Namespace) -> Any:
    from coexplore.cost.secure_measure import check_measure_parameters, measure_he_constants

    check_measure_parameters(slots=args.slots, modulus_bits=args.modulus_bits, plain_bits=args.plain_bits,
                             repeats=args.repeats, warmup=args.warmup)
    print(f"timing SEAL BFV operations: n={args.slots}, {args.modulus_bits}-bit modulus, {args.repeats} runs each",
          file=sys.stderr)
    m = measure_he_constants(slots=args.slots, modulus_bits=args.modulus_bits, plain_bits=args.plain_bits,
                             repeats=args.repeats, warmup=args.warmup)
    out = {"constants": dataclasses.asdict(m.constants), **m.summary()}
    if args.out:
        try:
            Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
        except OSError as e:
            raise SpecError(f"--out: cannot write {args.out!r}: {e.strerror}") from None
    if not args.json:
        fmt.table(["operation", "median us", "q1 us", "q3 us"],
                  [[k, f"{v['median_s'] * 1e6:.2f}", f"{v['q1_s'] * 1e6:.2f}", f"{v['q3_s'] * 1e6:.2f}"]
                   for k, v in out["operations"].items()])
        print(f"\nciphertext: {m.ciphertext_bytes:,} B serialized (model: {m.model_ciphertext_bytes:,} B); "
              f"not measured (kept): {', '.join(m.not_measured)}" + (f"; written to {args.out}" if args.out else ""))
    return out
